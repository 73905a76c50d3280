using System.Text.Json;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Operations;

/// <summary>
/// Keeps the benchmark harness from rotting (bench/run itself is not part of the suite): its
/// cold-start probe starts the binary, gets a database-backed 200 and reads the memory a
/// second later and once idle; the same-run baselines (scripts/test builds them) answer too.
/// </summary>
public sealed class BenchSmokeTests
{
    static async Task<JsonElement> ColdStart(string command, int idleSeconds = 6)
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("bench");
        // One article, so that the list answers a row (a reader that gets a column wrong fails on it).
        await using (var connection = new Npgsql.NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var insert = new Npgsql.NpgsqlCommand("""
                INSERT INTO users (username, email, password_hash) VALUES ('bench', 'bench@example.com', 'x');
                INSERT INTO articles (slug, title, description, body, author_id) SELECT 'bench-1', 'Bench', 'd', 'b', id FROM users;
                """, connection);
            await insert.ExecuteNonQueryAsync();
        }
        var output = await Processes.RunAsync("env", $"DATABASE_URL={database}", $"JWT_SECRET={ApiFixture.JwtSecret}", $"IDLE_SECONDS={idleSeconds}",
            "python3", Path.Combine(ServiceProcess.RepositoryRoot, "bench", "coldstart.py"), "1", "/api/articles", command);
        return JsonDocument.Parse(output).RootElement;
    }

    [Fact]
    public async Task The_cold_start_probe_measures_the_binary()
    {
        var result = await ColdStart(ServiceProcess.BinaryPath);

        Assert.InRange(result.GetProperty("median_ms").GetDouble(), 1, 10_000);
        Assert.InRange(result.GetProperty("rss_1s_mb").GetDouble(), 1, 1_000);
        Assert.InRange(result.GetProperty("idle_rss_mb").GetDouble(), 1, 1_000);
    }

    [Theory]
    [InlineData("efcore/Blog.Bench.EfCore")]
    [InlineData("ceiling/Blog.Bench.Ceiling")]
    public async Task The_baselines_serve_the_list(string program)
    {
        var path = Path.Combine(ServiceProcess.RepositoryRoot, "artifacts", "bench-smoke", program);
        Assert.True(File.Exists(path), $"{path} is missing: scripts/test builds it");

        var result = await ColdStart(path, idleSeconds: 1);  // fails unless GET /api/articles answers 200

        Assert.InRange(result.GetProperty("median_ms").GetDouble(), 1, 30_000);
    }

    [Fact]
    public void Committed_results_carry_no_path_of_the_machine_they_ran_on()
    {
        var results = Path.Combine(ServiceProcess.RepositoryRoot, "bench", "results");
        foreach (var file in Directory.GetFiles(results, "*.json"))
        {
            var absolute = Strings(JsonDocument.Parse(File.ReadAllText(file)).RootElement).Where(Path.IsPathRooted).ToArray();
            Assert.True(absolute.Length == 0, $"{Path.GetFileName(file)} records absolute paths: {string.Join(", ", absolute)}");
        }
    }

    static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Strings(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        _ => [],
    };
}
