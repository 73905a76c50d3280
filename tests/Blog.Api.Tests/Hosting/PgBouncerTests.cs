using System.Net;
using System.Net.Http.Json;
using Blog.Api.Tests.Infrastructure;
using Npgsql;

namespace Blog.Api.Tests.Hosting;

/// <summary>
/// In the PgBouncer runs (BLOG_TEST_PGBOUNCER, part of scripts/test: Debian's 1.18, then 1.25,
/// the line Neon runs) every binary test class talks to PostgreSQL through a real PgBouncer in
/// transaction mode; this checks the traffic really takes that path, and that statements are
/// prepared exactly where that is safe: directly, or through a pooler that keeps them.
/// </summary>
public sealed class PgBouncerTests(BinaryApi api) : ApiTests(api), IClassFixture<BinaryApi>
{
    const string PreparedLine = "Statements are prepared";
    const string UnpreparedLine = "Statements are sent unprepared";
    const string RefusedLine = "refused a prepared statement";

    [SkippableFact]
    public async Task The_service_reaches_its_database_through_PgBouncer_in_transaction_mode()
    {
        var pgBouncer = (await PostgresServer.Instance).PgBouncer;
        Skip.If(pgBouncer is null, $"only in the PgBouncer runs ({PostgresServer.PgBouncerVariable})");

        var user = await Register();
        await CreateArticle(user, "Through the pool");
        (await Get("/api/articles", user.Token)).Is(HttpStatusCode.OK);

        Assert.Equal(pgBouncer!.Port, new NpgsqlConnectionStringBuilder(Api.ServiceConnectionString).Port);
        var pool = (await pgBouncer.AdminAsync("SHOW POOLS")).Single(row => row["database"] == Api.DatabaseName);
        Assert.Equal("transaction", pool["pool_mode"]);
    }

    [SkippableFact]
    public async Task Connected_straight_to_PostgreSQL_statements_are_prepared()
    {
        Skip.If((await PostgresServer.Instance).PgBouncer is not null, "only in the run without PgBouncer");

        await Get("/api/articles");

        await WaitForLineAsync(Process, PreparedLine);
        Assert.Contains(Process.Output, line => line.Contains("straight to PostgreSQL", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Statements_are_prepared_once_and_reused_through_a_pooler_that_keeps_them()
    {
        var pgBouncer = (await PostgresServer.Instance).PgBouncer;
        Skip.If(pgBouncer is not { TracksPreparedStatements: true }, "only through PgBouncer 1.21 or later");

        var user = await Register();
        await CreateArticle(user, "Prepared");
        await WaitForLineAsync(Process, PreparedLine);
        long Count(Dictionary<string, string> stats, string column) => long.Parse(stats[column], System.Globalization.CultureInfo.InvariantCulture);
        var before = (await pgBouncer!.AdminAsync("SHOW STATS")).Single(row => row["database"] == Api.DatabaseName);
        for (var i = 0; i < 20; i++) (await Get("/api/articles?limit=5")).Is(HttpStatusCode.OK);
        var after = (await pgBouncer.AdminAsync("SHOW STATS")).Single(row => row["database"] == Api.DatabaseName);

        // PgBouncer's own counts: the service prepared statements (Parse), and ran them far
        // more often (Bind) than anything was prepared, by it or by PgBouncer on a server.
        var (clientParses, serverParses, binds) = (Count(after, "total_client_parse_count"), Count(after, "total_server_parse_count"),
            Count(after, "total_bind_count") - Count(before, "total_bind_count"));
        Assert.True(clientParses > 0, "the service prepared nothing");
        // (A statement is prepared at its second use on a connection: the first of the 20 runs unprepared.)
        Assert.True(binds >= 18 && Count(after, "total_server_parse_count") - Count(before, "total_server_parse_count") < 5,
            $"20 lists: {binds} binds, {serverParses} parses on servers, {clientParses} by the service");
        Assert.Contains(Process.Output, line => line.Contains("the pooler keeps prepared statements", StringComparison.Ordinal));
        Assert.DoesNotContain(Process.Output, line => line.Contains(RefusedLine, StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task Through_a_pooler_that_does_not_keep_them_statements_are_never_prepared()
    {
        var (database, pgBouncer) = await OwnPgBouncerAsync();
        try
        {
            await using var service = await ServiceProcess.StartHealthyAsync(ServiceProcess.EnvironmentFor(
                new NpgsqlConnectionStringBuilder(database) { Port = pgBouncer.Port }.ConnectionString, Processes.FreePort()));
            for (var i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/api/articles")).StatusCode);

            await WaitForLineAsync(service, UnpreparedLine);
            for (var i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/api/tags")).StatusCode);
            Assert.Single(service.Output, line => line.Contains(UnpreparedLine, StringComparison.Ordinal));
            Assert.DoesNotContain(service.Output, line => line.Contains(PreparedLine, StringComparison.Ordinal) || line.Contains(RefusedLine, StringComparison.Ordinal));
        }
        finally
        {
            await pgBouncer.StopAsync();
        }
    }

    [SkippableFact]
    public async Task Prepared_by_force_through_a_pooler_that_drops_them_the_service_falls_back_once_and_no_client_sees_an_error()
    {
        // A pooler that wipes each server connection after each transaction: every reuse of a
        // prepared statement is refused with "does not exist".
        var (database, pgBouncer) = await OwnPgBouncerAsync("server_reset_query = DISCARD ALL\nserver_reset_query_always = 1");
        try
        {
            var environment = ServiceProcess.EnvironmentFor(new NpgsqlConnectionStringBuilder(database) { Port = pgBouncer.Port }.ConnectionString, Processes.FreePort());
            environment["PREPARED_STATEMENTS"] = "on";
            await using var service = await ServiceProcess.StartHealthyAsync(environment);

            for (var i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/api/articles?limit=3")).StatusCode);
            for (var i = 0; i < 5; i++)
            {
                var user = new { user = new { username = $"writer{i}", email = $"writer{i}@example.com", password = "long enough password" } };
                Assert.Equal(HttpStatusCode.Created, (await service.Client.PostAsync("/api/users", JsonContent.Create(user))).StatusCode);
            }

            Assert.Single(service.Output, line => line.Contains(RefusedLine, StringComparison.Ordinal));
            await using var db = NpgsqlDataSource.Create(database);
            await using var count = db.CreateCommand("SELECT count(*) FROM users");
            Assert.Equal(5L, await count.ExecuteScalarAsync());  // each write ran once
        }
        finally
        {
            await pgBouncer.StopAsync();
        }
    }

    [Fact]
    public async Task When_statements_become_prepared_under_load_no_request_fails_and_the_unprepared_pool_closes_its_connections()
    {
        // A database of its own, straight to PostgreSQL: the service starts unprepared and
        // switches to a new pool of prepared statements half a second after its first request.
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("switch");
        await using var service = await ServiceProcess.StartHealthyAsync(ServiceProcess.EnvironmentFor(database, Processes.FreePort()));
        const int clients = 8;
        using var switched = new CancellationTokenSource();
        var load = Enumerable.Range(0, clients).Select(async _ =>
        {
            var statuses = new List<HttpStatusCode>();
            while (!switched.IsCancellationRequested) statuses.Add((await service.Client.GetAsync("/api/articles")).StatusCode);
            return statuses;
        }).ToArray();
        await WaitForLineAsync(service, PreparedLine);
        await Task.Delay(300);
        await switched.CancelAsync();
        var statuses = (await Task.WhenAll(load)).SelectMany(s => s).ToList();

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        // The prepared pool needs no more connections than there are clients; the unprepared
        // one had as many and must have closed them (else they idle on the server for minutes).
        // One more may have been opened by a request that took the old pool as it was replaced.
        await using var admin = NpgsqlDataSource.Create(database);
        await using var count = admin.CreateCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        long connections = 0;
        for (var i = 0; i < 40 && (connections = (long)(await count.ExecuteScalarAsync())!) > clients + 1; i++) await Task.Delay(50);
        Assert.True(connections <= clients + 1, $"{connections} server connections for {clients} clients, {statuses.Count} requests");
    }

    ServiceProcess Process => ((BinaryApi)Api).Process!;

    /// <summary>A fresh database behind a PgBouncer 1.18 (Debian's) of this test's own.</summary>
    static async Task<(string Database, PgBouncer PgBouncer)> OwnPgBouncerAsync(string extraSettings = "")
    {
        Skip.IfNot(File.Exists("/usr/sbin/pgbouncer"), "Debian's PgBouncer is not installed (scripts/test installs it)");
        var server = await PostgresServer.Instance;
        var (database, _) = await server.CreateDatabaseAsync("oldpooler");
        var pgBouncer = await PgBouncer.StartAsync(server.AdminConnectionString, "/usr/sbin/pgbouncer", extraSettings);
        Skip.If(pgBouncer.TracksPreparedStatements, "the machine's PgBouncer keeps prepared statements");
        return (database, pgBouncer);
    }

    static async Task WaitForLineAsync(ServiceProcess service, string text)
    {
        for (var i = 0; i < 100 && !service.Output.Any(line => line.Contains(text, StringComparison.Ordinal)); i++) await Task.Delay(50);
        Assert.Contains(service.Output, line => line.Contains(text, StringComparison.Ordinal));
    }
}
