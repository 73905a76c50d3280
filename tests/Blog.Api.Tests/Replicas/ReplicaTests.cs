using System.Diagnostics;
using System.Net;
using Blog.Api.Tests.Infrastructure;
using Npgsql;

namespace Blog.Api.Tests.Replicas;

/// <summary>
/// Reads from a near replica, writes to a far primary (scripts/replica-pair, 5 ms each way),
/// with the edge cache on: a writer reads its own writes at once, and replica faults send
/// reads to the primary without a client ever seeing an error.
/// </summary>
public abstract class ReplicaTests(ApiFixture api) : ApiTests(api)
{
    ReplicaPair Pair => ((IReplicaFixture)Api).Pair;

    async Task<string> ReadyAsync() => (await Get("/health/ready")).Is(HttpStatusCode.OK).Text;

    async Task ServingAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!(await ReadyAsync()).Contains("replica: serving reads", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the replica never served reads: " + await ReadyAsync());
            await Get("/api/tags");  // the replica is checked while requests come
            await Task.Delay(100);
        }
    }

    async Task<long> ReplicaTransactionsAsync()
    {
        await using var connection = new NpgsqlConnection(Pair.Replica("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT sum(xact_commit + xact_rollback)::bigint FROM pg_stat_database", connection);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_writer_reads_every_write_back_at_once_from_the_replica()
    {
        var me = await Register("writer");
        var other = await Register("author");
        var theirs = (await CreateArticle(other, "Theirs")).GetProperty("slug").GetString()!;
        await ServingAsync();
        var replicaBefore = await ReplicaTransactionsAsync();
        var stale = new List<string>();
        for (var i = 0; i < 1000; i++)
        {
            switch (i % 5)
            {
                case 0:
                    var slug = (await CreateArticle(me, $"Article {i}")).GetProperty("slug").GetString()!;
                    if ((await Get($"/api/articles/{slug}")).Status != HttpStatusCode.OK) stale.Add($"{i}: new article");
                    if ((await Get($"/api/articles?author={me.Username}&limit=1"))["articles"][0].GetProperty("slug").GetString() != slug) stale.Add($"{i}: list");
                    break;
                case 1:
                    var count = (await Post($"/api/articles/{theirs}/favorite", null, me.Token)).Is(HttpStatusCode.OK)["article"].GetProperty("favoritesCount").GetInt64();
                    if ((await Get($"/api/articles/{theirs}"))["article"].GetProperty("favoritesCount").GetInt64() != count) stale.Add($"{i}: favorite (anonymous)");
                    if (!(await Get($"/api/articles/{theirs}", me.Token))["article"].GetProperty("favorited").GetBoolean()) stale.Add($"{i}: favorite");
                    (await Delete($"/api/articles/{theirs}/favorite", me.Token)).Is(HttpStatusCode.OK);
                    if ((await Get($"/api/articles/{theirs}", me.Token))["article"].GetProperty("favorited").GetBoolean()) stale.Add($"{i}: unfavorite");
                    break;
                case 2:
                    var id = (await Post($"/api/articles/{theirs}/comments", new { comment = new { body = $"comment {i}" } }, me.Token)).Is(HttpStatusCode.Created)["comment"].GetProperty("id").GetInt64();
                    var comments = (await Get($"/api/articles/{theirs}/comments"))["comments"];
                    if (comments.GetArrayLength() == 0 || comments[comments.GetArrayLength() - 1].GetProperty("id").GetInt64() != id) stale.Add($"{i}: comment");
                    break;
                case 3:
                    var follow = i % 10 == 3;
                    (await (follow ? Post($"/api/profiles/{other.Username}/follow", null, me.Token) : Delete($"/api/profiles/{other.Username}/follow", me.Token))).Is(HttpStatusCode.OK);
                    if ((await Get($"/api/profiles/{other.Username}", me.Token))["profile"].GetProperty("following").GetBoolean() != follow) stale.Add($"{i}: follow");
                    break;
                case 4:
                    var bio = $"bio {i}";
                    (await Put("/api/user", new { user = new { bio } }, me.Token)).Is(HttpStatusCode.OK);
                    if ((await Get("/api/user", me.Token))["user"].GetProperty("bio").GetString() != bio) stale.Add($"{i}: user");
                    if ((await Get($"/api/profiles/{me.Username}"))["profile"].GetProperty("bio").GetString() != bio) stale.Add($"{i}: profile (anonymous)");
                    break;
            }
        }
        Assert.Empty(stale);
        // The reads went to the replica (it never stopped serving), not to the primary.
        Assert.Contains("replica: serving reads", await ReadyAsync(), StringComparison.Ordinal);
        Assert.True(await ReplicaTransactionsAsync() - replicaBefore > 1000);
    }

    [Fact]
    public async Task With_the_replica_stopped_reads_go_to_the_primary_and_return_when_it_is_back()
    {
        var me = await Register("reader");
        await ServingAsync();
        await Pair.StopReplicaAsync();
        try
        {
            // No client sees the fault: the first read that meets it runs again on the primary.
            for (var i = 0; i < 5; i++)
            {
                var slug = (await CreateArticle(me, $"While the replica is down {i}")).GetProperty("slug").GetString()!;
                (await Get($"/api/articles/{slug}")).Is(HttpStatusCode.OK);
                (await Get("/api/user", me.Token)).Is(HttpStatusCode.OK);
            }
            Assert.Contains("replica: down, reads go to the primary", await ReadyAsync(), StringComparison.Ordinal);
        }
        finally
        {
            await Pair.StartReplicaAsync();
        }
        await ServingAsync();
        var after = (await CreateArticle(me, "After the replica is back")).GetProperty("slug").GetString()!;
        (await Get($"/api/articles/{after}")).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task With_replay_paused_writes_answer_within_their_bound_and_reads_fall_back()
    {
        var me = await Register("paused");
        await ServingAsync();
        await using var replica = new NpgsqlConnection(Pair.Replica("postgres"));
        await replica.OpenAsync();
        await using (var pause = new NpgsqlCommand("SELECT pg_wal_replay_pause()", replica)) await pause.ExecuteNonQueryAsync();
        try
        {
            var watch = Stopwatch.StartNew();
            var slug = (await CreateArticle(me, "Written while replay is paused")).GetProperty("slug").GetString()!;
            Assert.InRange(watch.ElapsedMilliseconds, ReplicaFixture.WaitMs, ReplicaFixture.WaitMs + 1000);
            (await Get($"/api/articles/{slug}")).Is(HttpStatusCode.OK);  // from the primary
            Assert.Contains("replica: lagging, reads go to the primary", await ReadyAsync(), StringComparison.Ordinal);
            // Later writes do not wait on a replica that is not serving.
            watch.Restart();
            (await Put("/api/user", new { user = new { bio = "still paused" } }, me.Token)).Is(HttpStatusCode.OK);
            Assert.InRange(watch.ElapsedMilliseconds, 0, ReplicaFixture.WaitMs - 1);
            Assert.Equal("still paused", (await Get("/api/user", me.Token))["user"].GetProperty("bio").GetString());
        }
        finally
        {
            await using var resume = new NpgsqlCommand("SELECT pg_wal_replay_resume()", replica);
            await resume.ExecuteNonQueryAsync();
        }
        await ServingAsync();
        Assert.Equal("still paused", (await Get("/api/user", me.Token))["user"].GetProperty("bio").GetString());
    }

    async Task<T> OnReplicaAsync<T>(string sql)
    {
        await using var replica = new NpgsqlConnection(Pair.Replica(Api.DatabaseName));
        await replica.OpenAsync();
        await using var command = new NpgsqlCommand(sql, replica);
        return (T)(await command.ExecuteScalarAsync())!;
    }

    [Fact]
    public async Task A_write_that_waited_on_a_lock_is_read_back_although_a_later_transaction_replayed_first()
    {
        // Issue #30's reproduction: the write's transaction takes its id, waits on a row lock, and
        // meanwhile a later transaction commits and is replayed; then replay pauses and the lock
        // goes. A test that asks whether a snapshot on the standby sees the write's id said yes
        // (the standby's snapshots do not list what is in progress), and the old bio was served.
        var me = await Register("locked");
        (await Put("/api/user", new { user = new { bio = "old bio" } }, me.Token)).Is(HttpStatusCode.OK);
        await ServingAsync();
        await using var primary = new NpgsqlConnection(Pair.Primary(Api.DatabaseName));
        await primary.OpenAsync();
        var holder = await primary.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("SELECT 1 FROM users WHERE username = $1 FOR UPDATE", primary, holder) { Parameters = { new() { Value = me.Username } } })
        {
            await hold.ExecuteNonQueryAsync();
        }
        var update = Put("/api/user", new { user = new { bio = "new bio" } }, me.Token);
        await using var observer = new NpgsqlConnection(Pair.Primary(Api.DatabaseName));
        await observer.OpenAsync();
        for (var waiting = 0L; waiting == 0; await Task.Delay(20))
        {
            await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()", observer);
            waiting = (long)(await count.ExecuteScalarAsync())!;
            Assert.False(update.IsCompleted, "the update did not wait on the lock");
        }
        // A later transaction commits (one that writes a row: a transaction that only took an id
        // commits asynchronously), and the standby replays it.
        await using (var later = new NpgsqlCommand("INSERT INTO sign_in_limits (key, window_start) VALUES ('later', now())", observer)) await later.ExecuteNonQueryAsync();
        await using (var position = new NpgsqlCommand("SELECT pg_current_wal_flush_lsn()::text", observer))
        {
            var flushed = (string)(await position.ExecuteScalarAsync())!;
            while (!await OnReplicaAsync<bool>($"SELECT pg_last_wal_replay_lsn() >= '{flushed}'::pg_lsn")) await Task.Delay(10);
        }
        await OnReplicaAsync<object>("SELECT pg_wal_replay_pause()::text");
        try
        {
            await holder.CommitAsync();
            (await update).Is(HttpStatusCode.OK);
            Assert.Equal("new bio", (await Get("/api/user", me.Token))["user"].GetProperty("bio").GetString());
            Assert.Equal("new bio", (await Get($"/api/profiles/{me.Username}"))["profile"].GetProperty("bio").GetString());
            Assert.Equal("new bio", (await Get($"/api/profiles/{me.Username}", me.Token))["profile"].GetProperty("bio").GetString());
        }
        finally
        {
            await OnReplicaAsync<object>("SELECT pg_wal_replay_resume()::text");
        }
        await ServingAsync();
        Assert.Equal("new bio", (await Get("/api/user", me.Token))["user"].GetProperty("bio").GetString());
    }
}

public interface IReplicaFixture
{
    ReplicaPair Pair { get; }
}

/// <summary>The pair, a migrated database on it, and the settings that point the service at it.</summary>
static class ReplicaFixture
{
    public const int DelayMs = 5;
    public const int WaitMs = 500;

    public static async Task<(ReplicaPair Pair, string Database)> StartAsync()
    {
        var pair = await ReplicaPair.StartAsync(DelayMs);
        var database = $"blog_{Guid.NewGuid():N}"[..20];
        await using (var admin = new NpgsqlConnection(pair.Primary("postgres")))
        {
            await admin.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {database}", admin);
            await create.ExecuteNonQueryAsync();
        }
        await using var db = NpgsqlDataSource.Create(pair.Primary(database));
        await Blog.Api.Data.Migrations.ApplyAsync(db);
        return (pair, database);
    }

    public static Dictionary<string, string?> Settings(ReplicaPair pair, string database) => new()
    {
        ["READ_REPLICA_URL"] = pair.Replica(database),
        ["DIRECT_DATABASE_URL"] = pair.FarPrimary(database),   // the edge cache on, its listener far too
        ["REPLICA_WAIT_MS"] = WaitMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["REPLICA_MAX_LAG_MS"] = "1000",
    };
}

public sealed class ReplicaInProcessApi : InProcessApi, IReplicaFixture
{
    readonly ReplicaDatabase replica = new();
    public ReplicaPair Pair => replica.Pair;
    protected override Task<(string ConnectionString, string Name, string ServiceConnectionString)> CreateDatabaseAsync() => replica.CreateAsync();
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => replica.Settings;
    public override async Task DisposeAsync() { await base.DisposeAsync(); await replica.DisposeAsync(); }
}

public sealed class ReplicaAotApi : BinaryApi, IReplicaFixture
{
    readonly ReplicaDatabase replica = new();
    public ReplicaPair Pair => replica.Pair;
    protected override Task<(string ConnectionString, string Name, string ServiceConnectionString)> CreateDatabaseAsync() => replica.CreateAsync();
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => replica.Settings;
    public override async Task DisposeAsync() { await base.DisposeAsync(); await replica.DisposeAsync(); }
}

/// <summary>What both fixtures hold: the pair and the database on it, the service far from its primary.</summary>
sealed class ReplicaDatabase : IAsyncDisposable
{
    string database = "";
    public ReplicaPair Pair { get; private set; } = null!;

    public async Task<(string ConnectionString, string Name, string ServiceConnectionString)> CreateAsync()
    {
        (Pair, database) = await ReplicaFixture.StartAsync();
        return (Pair.Primary(database), database, Pair.FarPrimary(database));
    }

    public IReadOnlyDictionary<string, string?> Settings => ReplicaFixture.Settings(Pair, database);

    public ValueTask DisposeAsync() => Pair.DisposeAsync();
}

public sealed class ReplicaInProcess(ReplicaInProcessApi api) : ReplicaTests(api), IClassFixture<ReplicaInProcessApi>;

/// <summary>Against the AOT binary (named so that the PgBouncer passes, which do not reach this pair, skip it).</summary>
public sealed class ReplicaAot(ReplicaAotApi api) : ReplicaTests(api), IClassFixture<ReplicaAotApi>;
