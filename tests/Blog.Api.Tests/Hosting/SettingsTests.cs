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

    static Settings From(Dictionary<string, string?> values) =>
        Settings.From(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), new Environment("Development"));

    [Fact]
    public void On_Fly_the_peers_are_the_apps_machines_in_its_region_by_default()
    {
        var settings = From(new() { ["PEER_PORT"] = "8081", ["FLY_APP_NAME"] = "blog-api", ["FLY_REGION"] = "fra", ["FLY_PRIVATE_IP"] = "fdaa:0:1::2" });
        Assert.Empty(settings.Problems);
        Assert.Equal(["fra.blog-api.internal"], settings.Peers);
        Assert.Equal(System.Net.IPAddress.Parse("fdaa:0:1::2"), settings.PrivateIp);
        Assert.Empty(From(new() { ["FLY_APP_NAME"] = "blog-api", ["FLY_REGION"] = "fra" }).Peers);  // no PEER_PORT: no peers
        Assert.Equal(["10.0.0.5:9000", "[::1]"], From(new() { ["PEER_PORT"] = "8081", ["PEERS"] = "10.0.0.5:9000, [::1]", ["FLY_APP_NAME"] = "blog-api", ["FLY_REGION"] = "fra" }).Peers);
    }

    [Theory]
    [InlineData("8080", null, "PEER_PORT is invalid")]       // the public port
    [InlineData(null, "10.0.0.5", "PEERS is set but PEER_PORT is not")]
    [InlineData("8081", "10.0.0.5:x", "PEERS is invalid")]
    [InlineData("8081", "http://10.0.0.5/", "PEERS is invalid")]
    public void Peers_that_cannot_work_stop_the_start(string? port, string? peers, string problem)
    {
        var settings = From(new() { ["PEER_PORT"] = port, ["PEERS"] = peers });
        Assert.Contains(settings.Problems, p => p.StartsWith(problem, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("10.0.0.5", "10.0.0.5", 8081)]
    [InlineData("10.0.0.5:9000", "10.0.0.5", 9000)]
    [InlineData("[fdaa::2]:9000", "fdaa::2", 9000)]
    [InlineData("fra.blog-api.internal", "fra.blog-api.internal", 8081)]
    public void A_peer_is_a_host_with_PEER_PORT_unless_it_names_its_own(string peer, string host, int port) =>
        Assert.Equal((host, port), Blog.Api.Caching.RegionPeers.Parse(peer, 8081));
}
