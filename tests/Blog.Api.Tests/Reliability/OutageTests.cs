using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Blog.Api.Tests.Reliability;

/// <summary>
/// The database goes away and comes back while the binary runs: requests get a quick 503
/// with Retry-After (never a hang), readiness fails while liveness holds, and the service
/// recovers by itself.
/// </summary>
public sealed class OutageTests(ITestOutputHelper output)
{
    sealed record Service(ServiceProcess Process, HttpClient Client, TcpProxy Proxy) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Process.DisposeAsync();
            await Proxy.DisposeAsync();
        }
    }

    static async Task<Service> StartBehindProxyAsync()
    {
        var (connectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("outage");
        var direct = new NpgsqlConnectionStringBuilder(connectionString);
        var proxy = new TcpProxy(direct.Host!, direct.Port);
        var process = await ServiceProcess.StartHealthyAsync(
            ServiceProcess.EnvironmentFor(new NpgsqlConnectionStringBuilder(connectionString) { Port = proxy.Port }.ConnectionString, Processes.FreePort()),
            requestTimeout: TimeSpan.FromSeconds(60));
        Assert.Equal(HttpStatusCode.OK, (await process.Client.GetAsync("/api/articles")).StatusCode);  // warm pool
        return new Service(process, process.Client, proxy);
    }

    static async Task AssertUnavailable(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(body.GetProperty("errors").GetProperty("database").GetArrayLength() > 0);
    }

    [Fact]
    public async Task A_database_that_goes_away_gives_quick_503s_and_the_service_recovers_when_it_returns()
    {
        await using var service = await StartBehindProxyAsync();

        service.Proxy.Cut();
        var clock = Stopwatch.StartNew();
        using (var read = await service.Client.GetAsync("/api/articles")) await AssertUnavailable(read);
        var toFirst503 = clock.Elapsed;
        using (var write = await service.Client.PostAsync("/api/users", JsonContent(new { user = new { username = "u", email = "u@example.com", password = "long enough" } })))
        {
            await AssertUnavailable(write);
        }
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await service.Client.GetAsync("/health/ready")).StatusCode);
        Assert.True(toFirst503 < TimeSpan.FromSeconds(2), $"first 503 after {toFirst503.TotalMilliseconds:F0} ms");

        service.Proxy.Restore();
        var toRecovery = await TimeToRecoveryAsync(service.Client, TimeSpan.FromSeconds(10));
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/health/ready")).StatusCode);
        Assert.False(service.Process.HasExited);
        output.WriteLine($"cut: first 503 after {toFirst503.TotalMilliseconds:F0} ms; restored: first 200 after {toRecovery.TotalMilliseconds:F0} ms");
    }

    [Fact]
    public async Task A_database_that_stops_answering_gives_503_within_a_bounded_time()
    {
        await using var service = await StartBehindProxyAsync();

        service.Proxy.Blackhole();
        var clock = Stopwatch.StartNew();
        using (var read = await service.Client.GetAsync("/api/articles")) await AssertUnavailable(read);  // on a pooled connection
        var toFirst503 = clock.Elapsed;
        clock.Restart();
        using (var fresh = await service.Client.GetAsync("/api/tags")) await AssertUnavailable(fresh);  // on a new one
        var toSecond503 = clock.Elapsed;
        Assert.True(toFirst503 < TimeSpan.FromSeconds(10), $"first 503 after {toFirst503.TotalMilliseconds:F0} ms");
        Assert.True(toSecond503 < TimeSpan.FromSeconds(10), $"second 503 after {toSecond503.TotalMilliseconds:F0} ms");

        service.Proxy.Restore();
        var toRecovery = await TimeToRecoveryAsync(service.Client, TimeSpan.FromSeconds(15));
        output.WriteLine($"blackhole: 503 after {toFirst503.TotalMilliseconds:F0} ms (pooled connection) and {toSecond503.TotalMilliseconds:F0} ms (new); restored: first 200 after {toRecovery.TotalMilliseconds:F0} ms");
    }

    /// <summary>How long after the database returns the service answers a read again, by itself.</summary>
    static async Task<TimeSpan> TimeToRecoveryAsync(HttpClient client, TimeSpan limit)
    {
        var clock = Stopwatch.StartNew();
        while ((await client.GetAsync("/api/articles")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(clock.Elapsed < limit, $"no recovery within {limit.TotalSeconds:F0} s");
            await Task.Delay(50);
        }
        return clock.Elapsed;
    }

    static StringContent JsonContent(object body) => new(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
}
