using Blog.Api.Data;
using Npgsql;

namespace Blog.Api.Tests.Hosting;

public sealed class DatabaseUrlTests
{
    [Fact]
    public void A_Neon_style_URL_becomes_a_connection_string()
    {
        var settings = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(
            "postgresql://neondb_owner:p%40ss%3Aword@ep-cool-sun-123456-pooler.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require"));

        Assert.Equal("ep-cool-sun-123456-pooler.eu-central-1.aws.neon.tech", settings.Host);
        Assert.Equal(5432, settings.Port);
        Assert.Equal("neondb", settings.Database);
        Assert.Equal("neondb_owner", settings.Username);
        Assert.Equal("p@ss:word", settings.Password);
        Assert.Equal(SslMode.Require, settings.SslMode);
        Assert.Equal(ChannelBinding.Require, settings.ChannelBinding);
    }

    [Fact]
    public void A_Fly_style_URL_with_a_port_and_no_password_works_too()
    {
        var settings = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString("postgres://postgres@db.internal:6543/blog?sslmode=disable&application_name=blog-api"));
        Assert.Equal(("db.internal", 6543, "blog", "postgres"), (settings.Host, settings.Port, settings.Database, settings.Username));
        Assert.Null(settings.Password);
        Assert.Equal(SslMode.Disable, settings.SslMode);
        Assert.Equal("blog-api", settings.ApplicationName);
    }

    [Fact]
    public void A_keyword_string_passes_through()
    {
        var settings = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString("Host=localhost;Port=5433;Database=blog;Username=me;Password=pw"));
        Assert.Equal(("localhost", 5433, "blog", "me", "pw"), (settings.Host, settings.Port, settings.Database, settings.Username, settings.Password));
    }

    [Theory]
    [InlineData("postgres://host/db?sslmode=sometimes", "sslmode")]
    [InlineData("postgres://host/db?frobnicate=1", "frobnicate")]
    [InlineData("postgres://", "valid")]
    public void Unknown_or_broken_URLs_are_rejected_with_a_reason(string url, string reason)
    {
        var error = Assert.Throws<FormatException>(() => DatabaseUrl.ToConnectionString(url));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void The_data_source_is_safe_behind_PgBouncer_in_transaction_mode()
    {
        using var db = Database.CreateDataSource("postgres://u:p@host/db");
        var settings = new NpgsqlConnectionStringBuilder(db.ConnectionString);
        Assert.True(settings.NoResetOnClose);
        Assert.Equal(0, settings.MaxAutoPrepare);
    }

    [Fact]
    public void The_data_source_shortens_default_waits_and_keeps_the_ones_the_URL_names()
    {
        using var defaults = Database.CreateDataSource("postgres://u:p@host/db");
        using var named = Database.CreateDataSource("postgres://u:p@host/db?connect_timeout=15");
        using var keywords = Database.CreateDataSource("Host=h;Username=u;Timeout=30;Command Timeout=30;Cancellation Timeout=2000");

        var (shortened, kept, keyworded) = (Settings(defaults), Settings(named), Settings(keywords));
        Assert.Equal((3, Database.CommandTimeout, -1), (shortened.Timeout, shortened.CommandTimeout, shortened.CancellationTimeout));
        Assert.Equal(15, kept.Timeout);
        Assert.Equal((30, 30, 2000), (keyworded.Timeout, keyworded.CommandTimeout, keyworded.CancellationTimeout));
    }

    static NpgsqlConnectionStringBuilder Settings(NpgsqlDataSource db) => new(db.ConnectionString);
}
