using System.Text.Json;
using Blog.Api.Articles;
using Blog.Api.Data;
using Blog.Api.Tests.Infrastructure;
using Npgsql;
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
/// The list and the feed, as the service runs them: prepared, so on generic plans (made
/// without the values). Each plan must use indexes on a large database (no sequential scan
/// of a big table, for any filter) and do no more work than the plan made for the values.
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
    [InlineData("author and favorited by", null, "user42", "user7", 0)]
    [InlineData("tag and author", "topic1", "user7919", null, 0)]
    [InlineData("tag and favorited by", "topic1", null, "user42", 0)]
    [InlineData("all three", "topic1", "user42", "user42", 0)]
    public async Task Each_list_statement_has_a_generic_plan_on_indexes_as_good_as_the_custom_one(string name, string? tag, string? author, string? favorited, int offset)
    {
        var sql = ArticleLists.ListSql(tag is not null, author is not null, favorited is not null);
        await AssertPlansAsync(name, sql, new() { ["tag"] = tag, ["author"] = author, ["favorited"] = favorited, ["limit"] = 20, ["offset"] = offset, ["me"] = 1L, ["tokenVersion"] = 1, ["sessionId"] = null });
    }

    [Fact]
    public void The_constant_bound_on_the_rows_shown_holds_a_whole_page()
    {
        Assert.True(int.Parse(ArticleLists.MaxShown, System.Globalization.CultureInfo.InvariantCulture) >= Blog.Api.Http.Limits.PageSize);
    }

    /// <summary>
    /// PostgreSQL JIT-compiles a plan it thinks costly (jit_above_cost, 100,000 by default):
    /// hundreds of milliseconds for a list. A new database has no statistics yet, so the
    /// planner guesses; no guess may make a list look that costly.
    /// </summary>
    [Fact]
    public async Task On_a_new_database_no_list_statement_looks_costly_enough_to_be_compiled()
    {
        var (connectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("fresh");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        bool[] both = [false, true];
        var statements = both.SelectMany(tag => both.SelectMany(author => both.Select(favorited => ArticleLists.ListSql(tag, author, favorited))))
            .Append(ArticleLists.FeedSql);
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand("EXPLAIN (FORMAT JSON) " + sql, connection);
            foreach (var name in new[] { "tag", "author", "favorited" }) command.Parameters.Add(new NpgsqlParameter(name, NpgsqlTypes.NpgsqlDbType.Text) { Value = "x" });
            command.Parameters.AddWithValue("limit", 20);
            command.Parameters.AddWithValue("offset", 0);
            command.Parameters.AddWithValue("me", 1L);
            command.Parameters.AddWithValue("tokenVersion", 1);
            command.Parameters.AddWithValue("sessionId", "s");
            var cost = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!).RootElement[0].GetProperty("Plan").GetProperty("Total Cost").GetDouble();
            Assert.True(cost < 100_000, $"estimated cost {cost:F0}:\n{sql}");
        }
    }

    [Fact]
    public async Task The_feed_has_a_generic_plan_on_indexes_as_good_as_the_custom_one()
    {
        await AssertPlansAsync("feed", ArticleLists.FeedSql, new() { ["limit"] = 20, ["offset"] = 0, ["me"] = 1L, ["tokenVersion"] = 1, ["sessionId"] = null });
    }

    /// <summary>
    /// As the service sends them and prepares them (Npgsql's automatic preparation, as Db sets
    /// it up), each list statement and the feed is planned once per connection: every prepared
    /// execution runs the generic plan. Left to plan_cache_mode = auto, PostgreSQL plans the
    /// list and the tag list anew on every call (ArticleLists.Sent says why).
    /// </summary>
    [Theory]
    [InlineData(null, null, null)]
    [InlineData("topic1", null, null)]
    [InlineData(null, "user42", null)]
    [InlineData(null, null, "user42")]
    [InlineData(null, "user42", "user7")]
    [InlineData("topic1", "user7919", null)]
    [InlineData("topic1", null, "user42")]
    [InlineData("topic1", "user42", "user42")]
    public async Task As_sent_and_prepared_each_list_statement_is_planned_once_per_connection(string? tag, string? author, string? favorited)
    {
        await AssertPlannedOnceAsync(ArticleLists.ListSql(tag is not null, author is not null, favorited is not null), tag, author, favorited);
    }

    [Fact]
    public async Task As_sent_and_prepared_the_feed_is_planned_once_per_connection()
    {
        await AssertPlannedOnceAsync(ArticleLists.FeedSql, null, null, null);
    }

    /// <summary>Runs <paramref name="statement"/> as sent, prepared as Db prepares, on one connection; then reads its plan counts there.</summary>
    async Task AssertPlannedOnceAsync(string statement, string? tag, string? author, string? favorited)
    {
        await using var source = Database.CreateDataSource(db.ConnectionString, prepare: true);
        await using var connection = await source.OpenConnectionAsync();
        const int Calls = 10;
        for (var call = 0; call < Calls; call++)
        {
            await using var command = new NpgsqlCommand(ArticleLists.Sent(statement), connection);
            foreach (var (name, value) in new[] { ("tag", tag), ("author", author), ("favorited", favorited) })
            {
                command.Parameters.Add(new NpgsqlParameter(name, NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)value ?? DBNull.Value });
            }
            command.Parameters.AddWithValue("limit", 20);
            command.Parameters.AddWithValue("offset", call);
            command.Parameters.Add(new NpgsqlParameter("me", NpgsqlTypes.NpgsqlDbType.Bigint) { Value = call % 2 == 0 ? DBNull.Value : 1L });
            command.Parameters.AddWithValue("tokenVersion", 1);
            command.Parameters.Add(new NpgsqlParameter("sessionId", NpgsqlTypes.NpgsqlDbType.Text) { Value = DBNull.Value });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) { }
        }

        await using var plans = new NpgsqlCommand("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE 'WITH%'", connection);
        await using var counts = await plans.ExecuteReaderAsync();
        Assert.True(await counts.ReadAsync(), "the statement was not prepared");
        var (generic, custom) = (counts.GetInt64(0), counts.GetInt64(1));
        output.WriteLine($"{statement[..40].ReplaceLineEndings(" ")}… ({tag} {author} {favorited}): generic {generic}, custom {custom}");
        Assert.Equal(0, custom);
        Assert.True(generic >= Calls - 2, $"{generic} executions on the generic plan");  // Npgsql prepares on the second use
        // And the setting ended with the statement.
        await counts.DisposeAsync();
        plans.CommandText = "SHOW plan_cache_mode";
        Assert.Equal("auto", await plans.ExecuteScalarAsync());
    }

    /// <summary>
    /// PREPAREs the statement (its @names as $n, typed as the service sends them) and explains
    /// one EXECUTE on the generic plan, the one a prepared statement settles on, and one on a
    /// custom plan, made for the values.
    /// </summary>
    async Task AssertPlansAsync(string name, string sql, Dictionary<string, object?> values)
    {
        var names = System.Text.RegularExpressions.Regex.Matches(sql, @"(?<!:)@(\w+)").Select(m => m.Groups[1].Value).Distinct().ToList();
        var positional = System.Text.RegularExpressions.Regex.Replace(sql, @"(?<!:)@(\w+)", m => "$" + (names.IndexOf(m.Groups[1].Value) + 1));
        var types = string.Join(", ", names.Select(n => n switch { "limit" or "offset" or "tokenVersion" => "integer", "me" => "bigint", _ => "text" }));
        var arguments = string.Join(", ", names.Select(n => values[n] switch { null => "NULL", string text => $"'{text}'", var value => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) }));

        await using var connection = new NpgsqlConnection(db.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"PREPARE list ({types}) AS {positional}", connection);
        await command.ExecuteNonQueryAsync();
        var generic = await ExplainAsync(command, "force_generic_plan", arguments);
        var custom = await ExplainAsync(command, "force_custom_plan", arguments);

        var scans = new List<string>();
        Collect(generic.GetProperty("Plan"), scans);
        var (genericBlocks, customBlocks) = (Blocks(generic), Blocks(custom));
        output.WriteLine($"{name}: generic {generic.GetProperty("Execution Time").GetDouble():F1} ms, {genericBlocks} blocks; " +
                         $"custom {custom.GetProperty("Execution Time").GetDouble():F1} ms, {customBlocks} blocks; {string.Join(", ", scans.Distinct())}");
        var sequential = scans.Where(s => s.StartsWith("Seq Scan on ", StringComparison.Ordinal) && BigTables.Contains(s["Seq Scan on ".Length..])).ToArray();
        Assert.True(sequential.Length == 0, $"{name}: {string.Join(", ", sequential)}");
        Assert.False(generic.TryGetProperty("JIT", out _), $"{name}: the generic plan was JIT-compiled (migration 0004 turns JIT off)");
        // Pages read are what the plan costs, independent of the machine's speed.
        Assert.True(genericBlocks <= customBlocks * 3 / 2 + 20, $"{name}: the generic plan reads {genericBlocks} blocks, the custom one {customBlocks}");
    }

    static async Task<JsonElement> ExplainAsync(NpgsqlCommand command, string planCacheMode, string arguments)
    {
        command.CommandText = $"SET plan_cache_mode = {planCacheMode}";
        await command.ExecuteNonQueryAsync();
        command.CommandText = $"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE list ({arguments})";
        var explained = JsonDocument.Parse((string)(await command.ExecuteScalarAsync())!).RootElement[0];
        return explained;
    }

    static long Blocks(JsonElement explained) =>
        explained.GetProperty("Plan").GetProperty("Shared Hit Blocks").GetInt64() + explained.GetProperty("Plan").GetProperty("Shared Read Blocks").GetInt64();

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
