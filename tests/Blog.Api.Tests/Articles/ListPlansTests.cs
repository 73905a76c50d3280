using System.Text.Json;
using Blog.Api.Articles;
using Blog.Api.Tests.Infrastructure;
using Npgsql;
using NpgsqlTypes;
using Xunit.Abstractions;

namespace Blog.Api.Tests.Articles;

/// <summary>A database the size of the benchmarks' (bench/seed.sql): 10,000 users, 100,000 articles.</summary>
public sealed class LargeDatabase : IAsyncLifetime
{
    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        (ConnectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("large");
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        var seed = await File.ReadAllTextAsync(Path.Combine(ServiceProcess.RepositoryRoot, "bench", "seed.sql"));
        await using var cmd = new NpgsqlCommand(seed, connection) { CommandTimeout = 300 };
        await cmd.ExecuteNonQueryAsync();
        // What autovacuum does on a live database: set the visibility map, so index-only scans
        // need no heap visits (and the planner prefers them).
        cmd.CommandText = "VACUUM ANALYZE";
        await cmd.ExecuteNonQueryAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>
/// The list and the feed, as the service runs them, must use indexes on a large database:
/// no sequential scan of a big table for any filter.
/// </summary>
public sealed class ListPlansTests(LargeDatabase db, ITestOutputHelper output) : IClassFixture<LargeDatabase>
{
    static readonly string[] BigTables = ["users", "articles", "article_tags", "favorites", "follows", "comments"];

    [Theory]
    [InlineData("no filter", null, null, null, 0)]
    [InlineData("no filter, deep page", null, null, null, 5000)]
    [InlineData("popular tag", "topic1", null, null, 0)]
    [InlineData("rare tag", "topic190", null, null, 0)]
    [InlineData("author", null, "user42", null, 0)]
    [InlineData("favorited by", null, null, "user42", 0)]
    [InlineData("tag and author", "topic1", "user7919", null, 0)]
    [InlineData("all three", "topic1", "user42", "user42", 0)]
    public async Task The_list_uses_indexes(string name, string? tag, string? author, string? favorited, int offset)
    {
        var plan = await ExplainAsync(ArticleLists.ListSql, command =>
        {
            command.Parameters.Add(new NpgsqlParameter("tag", NpgsqlDbType.Text) { Value = (object?)tag ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter("author", NpgsqlDbType.Text) { Value = (object?)author ?? DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter("favorited", NpgsqlDbType.Text) { Value = (object?)favorited ?? DBNull.Value });
            command.Parameters.AddWithValue("limit", 20);
            command.Parameters.AddWithValue("offset", offset);
            command.Parameters.Add(new NpgsqlParameter("me", NpgsqlDbType.Bigint) { Value = 1L });
        });
        AssertNoSeqScanOfBigTables(name, plan);
    }

    [Fact]
    public async Task The_feed_uses_indexes()
    {
        var plan = await ExplainAsync(ArticleLists.FeedSql, command =>
        {
            command.Parameters.AddWithValue("limit", 20);
            command.Parameters.AddWithValue("offset", 0);
            command.Parameters.AddWithValue("me", 1L);
        });
        AssertNoSeqScanOfBigTables("feed", plan);
    }

    async Task<JsonElement> ExplainAsync(string sql, Action<NpgsqlCommand> parameters)
    {
        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, connection);
        parameters(command);
        var json = (string)(await command.ExecuteScalarAsync())!;

        return JsonDocument.Parse(json).RootElement[0];
    }

    void AssertNoSeqScanOfBigTables(string name, JsonElement explained)
    {
        var scans = new List<string>();
        Collect(explained.GetProperty("Plan"), scans);
        output.WriteLine($"{name}: {explained.GetProperty("Execution Time").GetDouble():F1} ms; {string.Join(", ", scans.Distinct())}");
        var sequential = scans.Where(s => s.StartsWith("Seq Scan on ", StringComparison.Ordinal) && BigTables.Contains(s["Seq Scan on ".Length..])).ToArray();
        Assert.True(sequential.Length == 0, $"{name}: {string.Join(", ", sequential)}");
    }

    static void Collect(JsonElement node, List<string> scans)
    {
        var type = node.GetProperty("Node Type").GetString()!;
        if (node.TryGetProperty("Relation Name", out var relation)) scans.Add($"{type} on {relation.GetString()}");
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray()) Collect(child, scans);
        }
    }
}
