using Blog.Api.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;

namespace Blog.Api.Tests.Hosting;

public sealed class SettingsTests
{
    sealed class Environment(string name) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "Blog.Api";
        public string ContentRootPath { get; set; } = "/";
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    [Fact]
    public void Development_without_a_secret_signs_with_a_random_key_for_each_process()
    {
        var config = new ConfigurationBuilder().Build();
        var first = Settings.From(config, new Environment("Development"));
        var second = Settings.From(config, new Environment("Development"));

        Assert.Empty(first.Problems);
        Assert.NotEqual(first.JwtSecret, second.JwtSecret);
        Assert.True(Convert.FromBase64String(first.JwtSecret).Length >= 32);
    }

    [Fact]
    public void Outside_Development_a_missing_secret_stops_the_start()
    {
        var settings = Settings.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["DATABASE_URL"] = "postgres://u@h/db" }).Build(),
            new Environment("Production"));
        Assert.Contains(settings.Problems, p => p.StartsWith("JWT_SECRET is not set", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, 16)]
    [InlineData("4", 4)]
    public void The_pool_holds_sixteen_connections_unless_told_otherwise(string? given, int expected)
    {
        var settings = Settings.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["DATABASE_POOL_SIZE"] = given }).Build(),
            new Environment("Development"));
        Assert.Empty(settings.Problems);
        Assert.Equal(expected, settings.DatabasePoolSize);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("many")]
    public void A_pool_size_that_is_not_a_positive_number_stops_the_start(string given)
    {
        var settings = Settings.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["DATABASE_POOL_SIZE"] = given }).Build(),
            new Environment("Development"));
        Assert.Contains(settings.Problems, p => p.Contains("DATABASE_POOL_SIZE", StringComparison.Ordinal));
    }
}
