using System.Text.Json;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Operations;

/// <summary>
/// Keeps the benchmark harness from rotting (bench/run itself is not part of the suite): its
/// cold-start probe starts the binary, gets a database-backed 200 and reads the memory
/// a second later and once idle.
/// </summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task The_cold_start_probe_measures_the_binary()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("bench");

        var output = await Processes.RunAsync("env", $"DATABASE_URL={database}", $"JWT_SECRET={ApiFixture.JwtSecret}",
            "python3", Path.Combine(ServiceProcess.RepositoryRoot, "bench", "coldstart.py"), "1", "/api/articles", ServiceProcess.BinaryPath);

        var result = JsonDocument.Parse(output).RootElement;
        Assert.InRange(result.GetProperty("median_ms").GetDouble(), 1, 10_000);
        Assert.InRange(result.GetProperty("rss_1s_mb").GetDouble(), 1, 1_000);
        Assert.InRange(result.GetProperty("idle_rss_mb").GetDouble(), 1, 1_000);
    }
}
