using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Blog.Api.Tests.Infrastructure;
using Npgsql;

namespace Blog.Api.Tests.Operations;

/// <summary>
/// The binary's Prometheus metrics (on METRICS_PORT, not on the public port) and its request
/// logs, with no secret in either.
/// </summary>
public sealed partial class MetricsTests
{
    const string DatabasePassword = "db-password-that-must-not-leak";

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?<labels>.*)\} (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    static List<(string Name, Dictionary<string, string> Labels, double Value)> Parse(string text)
    {
        var samples = new List<(string, Dictionary<string, string>, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith('#')) continue;
            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not in the text format: {line}");
            var labels = Regex.Matches(match.Groups["labels"].Value, @"(\w+)=""((?:[^""\\]|\\.)*)""").ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            samples.Add((match.Groups["name"].Value, labels, double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture)));
        }
        return samples;
    }

    [Fact]
    public async Task Requests_the_pool_and_the_runtime_show_in_the_metrics_with_the_region_and_no_secret()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("metrics");
        var environment = ServiceProcess.EnvironmentFor(new NpgsqlConnectionStringBuilder(database) { Password = DatabasePassword }.ConnectionString, Processes.FreePort());
        var metricsPort = Processes.FreePort();
        environment["METRICS_PORT"] = metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        environment["FLY_REGION"] = "syd";
        environment["DIRECT_DATABASE_URL"] = environment["DATABASE_URL"];  // the edge cache on, and its counters
        await using var service = await ServiceProcess.StartHealthyAsync(environment);
        using var metrics = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };

        const string password = "a password that must not leak";
        using var registered = await service.Client.PostAsJsonAsync("/api/users", new { user = new { username = "metered", email = "metered@example.com", password } });
        var token = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("token").GetString()!;
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/api/articles")).StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/user");
        request.Headers.Add("Authorization", $"Token {token}");
        Assert.Equal(HttpStatusCode.OK, (await service.Client.SendAsync(request)).StatusCode);

        var text = await metrics.GetStringAsync("/metrics");
        var samples = Parse(text);
        Assert.All(samples, sample => Assert.Equal("syd", sample.Labels["fly_region"]));
        static bool Lists((string Name, Dictionary<string, string> Labels, double Value) s) => s.Labels.GetValueOrDefault("http_route")?.TrimEnd('/') == "/api/articles";
        var lists = samples.Single(s => s.Name == "http_server_request_duration_seconds_count" && Lists(s));
        Assert.Equal(3, lists.Value);
        Assert.Contains(samples, s => s.Name == "http_server_request_duration_seconds_bucket" && s.Labels["le"] == "+Inf" && Lists(s) && s.Value == 3);
        // The pool holds the connection the requests opened (the prepared-statement probe may have
        // replaced the data source: both are named primary, and their connections add up).
        Assert.True(samples.Where(s => s.Name == "db_client_connection_count" && s.Labels.GetValueOrDefault("db_client_connection_pool_name") == "primary" &&
            s.Labels.GetValueOrDefault("db_client_connection_state") is "idle" or "used").Sum(s => s.Value) >= 1);
        // The service's own counters: each anonymous list met the edge cache (a hit, a miss, or a
        // bypass before the listener connected).
        var lookups = samples.Where(s => s.Name == "blog_cache_lookups_total").ToList();
        Assert.All(lookups, s => Assert.Contains(s.Labels["result"], new[] { "hit", "miss", "bypass" }));
        Assert.True(lookups.Sum(s => s.Value) == 3, $"cache lookups counted: {lookups.Sum(s => s.Value)}");
        Assert.True(samples.Where(s => s.Name == "db_client_operation_duration_seconds_count").Sum(s => s.Value) >= 3);  // sign-up, a list, /api/user
        Assert.Contains(samples, s => s.Name.StartsWith("dotnet_gc_", StringComparison.Ordinal));

        // Every series the dashboard (docs/grafana-dashboard.json) queries is one the binary
        // exports, once signed-in reads have met the cache too; save those that count events
        // this run has none of (a replica, a rate limit, a pooler refusing prepared statements, region
        // peers: SignedInReadsTests reads theirs).
        for (var i = 0; i < 20 && !(await metrics.GetStringAsync("/metrics")).Contains("blog_cache_viewer_lookups_total{", StringComparison.Ordinal); i++)
        {
            using var signedIn = new HttpRequestMessage(HttpMethod.Get, "/api/articles");
            signedIn.Headers.Add("Authorization", $"Token {token}");
            Assert.Equal(HttpStatusCode.OK, (await service.Client.SendAsync(signedIn)).StatusCode);
            await Task.Delay(50);
        }
        var exported = Parse(await metrics.GetStringAsync("/metrics")).Select(s => s.Name).ToHashSet();
        var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(ServiceProcess.RepositoryRoot, "docs", "grafana-dashboard.json")));
        var queried = Expressions(dashboard.RootElement).SelectMany(expr => Regex.Matches(expr, @"([a-zA-Z_:][a-zA-Z0-9_:]*)\{").Select(m => m.Groups[1].Value)).ToHashSet();
        string[] onlyWhenItHappens = ["blog_replica_lag_seconds", "blog_replica_serving", "blog_rate_limit_rejections_total", "blog_prepared_statements_fallbacks_total", "blog_cache_peer_pushes_seconds_count", "blog_cache_peer_pushes_seconds_bucket"];
        Assert.Contains("blog_cache_viewer_lookups_total", queried);
        Assert.Empty(queried.Except(exported).Except(onlyWhenItHappens));

        // Not on the public port, whatever Host the client names.
        using var sneaky = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        sneaky.Headers.Host = $"127.0.0.1:{metricsPort}";
        Assert.Equal(HttpStatusCode.NotFound, (await service.Client.SendAsync(sneaky)).StatusCode);

        // One log line per request, with its route template, and no secret anywhere.
        await service.DisposeAsync();
        Assert.Contains(service.Output, line => line.Contains("\"Route\":\"/api/articles", StringComparison.Ordinal) && line.Contains("\"Region\":\"syd\"", StringComparison.Ordinal));
        Assert.Contains(service.Output, line => line.Contains("\"Route\":\"/api/user\"", StringComparison.Ordinal) && line.Contains("\"Status\":200", StringComparison.Ordinal));
        foreach (var secret in new[] { DatabasePassword, password, token, token.Split('.')[2], ApiFixture.JwtSecret })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(service.Output, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    static IEnumerable<string> Expressions(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => p.Name == "expr" && p.Value.ValueKind == JsonValueKind.String ? [p.Value.GetString()!] : Expressions(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Expressions),
        _ => [],
    };

    [Fact]
    public async Task Request_logs_can_be_turned_off()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("nologs");
        var environment = ServiceProcess.EnvironmentFor(database, Processes.FreePort());
        environment["REQUEST_LOGS"] = "false";
        environment["METRICS_PORT"] = "0";
        await using var service = await ServiceProcess.StartHealthyAsync(environment);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/api/articles")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await service.Client.GetAsync("/metrics")).StatusCode);
        await service.DisposeAsync();
        Assert.DoesNotContain(service.Output, line => line.Contains("\"Route\":", StringComparison.Ordinal));
    }
}
