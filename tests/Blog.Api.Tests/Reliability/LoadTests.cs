using System.Text.Json;
using Blog.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Blog.Api.Tests.Reliability;

/// <summary>bench/load/run in its short mode: a mixed read/write load on the binary.</summary>
public sealed class LoadTests(ITestOutputHelper output)
{
    [SkippableFact]
    public async Task A_short_mixed_load_gets_no_5xx_no_socket_errors_and_memory_settles()
    {
        var wrk = new[] { "/usr/bin/wrk", "/usr/local/bin/wrk", "/opt/homebrew/bin/wrk" }.Any(File.Exists);
        Skip.If(!wrk && Environment.GetEnvironmentVariable("CI") != "true", "wrk is not installed (scripts/test installs it)");
        var (connectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("load");

        var json = await Processes.RunAsync("env", $"DATABASE_URL={connectionString}", $"BLOG_API_BINARY={ServiceProcess.BinaryPath}",
            Path.Combine(ServiceProcess.RepositoryRoot, "bench", "load", "run"), "5", "16");

        output.WriteLine(json);
        var result = JsonDocument.Parse(json.Trim().Split('\n')[^1]).RootElement;
        Assert.True(result.GetProperty("requests").GetInt64() > 500, json);
        Assert.Equal(0, result.GetProperty("server_errors").GetInt64());
        Assert.Equal(0, result.GetProperty("socket_errors").GetInt64());
        Assert.Equal(0, result.GetProperty("client_errors").GetInt64());
    }
}
