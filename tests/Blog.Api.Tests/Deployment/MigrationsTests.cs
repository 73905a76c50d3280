using System.Diagnostics;
using Blog.Api.Data;
using Blog.Api.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Blog.Api.Tests.Deployment;

/// <summary>
/// The migration runner as a rolling deploy uses it: the previous release serves on the same
/// database while migrations run, so none may hold a lock that requests queue behind, and data
/// changes happen in batches after the schema change, right at every moment in between.
/// </summary>
public sealed class MigrationsTests
{
    static async Task<NpgsqlDataSource> DatabaseAtAsync(int version)
    {
        var db = NpgsqlDataSource.Create(await (await PostgresServer.Instance).CreateEmptyDatabaseAsync());
        await Migrations.ApplyAsync(db, through: version);
        return db;
    }

    static async Task ExecuteAsync(NpgsqlDataSource db, string sql)
    {
        await using var connection = await db.OpenConnectionAsync();
        await connection.ExecuteAsync(sql);
    }

    /// <summary>This build's migrations, 0009's backfill in batches of <paramref name="batch"/> articles.</summary>
    static IReadOnlyList<Migrations.Migration> WithBackfillBatch(int batch) =>
        [.. Migrations.Embedded.Select(m => m.Version == 9 ? new Migrations.Migration(9, m.Name, m.Script.Replace("backfill_favorites_count($1, 5000)", $"backfill_favorites_count($1, {batch})")) : m)];

    [Fact]
    public async Task Favorites_written_while_0009_backfills_leave_every_count_right_and_every_read_right_meanwhile()
    {
        await using var db = await DatabaseAtAsync(8);
        await ExecuteAsync(db, """
            INSERT INTO users (username, email, password_hash) SELECT 'u' || i, 'u' || i || '@example.com', 'x' FROM generate_series(1, 50) AS i;
            INSERT INTO articles (slug, title, description, body, author_id) SELECT 'a-' || i, 'A', 'd', 'b', 1 + i % 50 FROM generate_series(1, 3000) AS i;
            INSERT INTO favorites (user_id, article_id) SELECT u, a FROM generate_series(1, 50) AS u, generate_series(1, 3000) AS a WHERE random() < 0.1;
            """);
        using var stop = new CancellationTokenSource();
        var wrong = new List<string>();
        var (writes, reads) = (0, 0);

        // Writers favorite and unfavorite at random, each statement on its own, as requests do
        // (the article first, then its favorites: Articles/Favorites.cs).
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            var random = new Random(w);
            await using var connection = await db.OpenConnectionAsync();
            while (!stop.IsCancellationRequested)
            {
                var (user, article) = (random.Next(1, 51), random.Next(1, 3001));
                await connection.ExecuteAsync(random.Next(2) == 0
                    ? "WITH a AS (SELECT id FROM articles WHERE id = @article) INSERT INTO favorites (user_id, article_id) SELECT @user, id FROM a ON CONFLICT DO NOTHING"
                    : "WITH a AS (SELECT id FROM articles WHERE id = @article) DELETE FROM favorites f USING a WHERE f.article_id = a.id AND f.user_id = @user", new { user, article });
                Interlocked.Increment(ref writes);
            }
        })).ToArray();
        // A reader asks what the service answers (ArticleSql.FavoritesCount) against a count, in one snapshot.
        var reader = Task.Run(async () =>
        {
            await using var connection = await db.OpenConnectionAsync();
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(5);
                if (await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM information_schema.columns WHERE table_name = 'articles' AND column_name = 'favorites_count'") == 0) continue;
                var rows = await connection.QueryAsync<(long Id, long Answered, long Counted)>($"""
                    SELECT a.id, {Blog.Api.Articles.ArticleSql.FavoritesCount}, (SELECT count(*) FROM favorites f WHERE f.article_id = a.id)
                    FROM articles a WHERE a.id % 97 = @offset
                    """, new { offset = Random.Shared.Next(97) });
                foreach (var row in rows.Where(r => r.Answered != r.Counted)) lock (wrong) wrong.Add($"article {row.Id}: answered {row.Answered}, counted {row.Counted}");
                Interlocked.Increment(ref reads);
            }
        });

        await Task.Delay(200);
        var log = new List<string>();
        await Migrations.ApplyAsync(db, WithBackfillBatch(100), log: log.Add);
        await Task.Delay(200);
        await stop.CancelAsync();
        await Task.WhenAll([.. writers, reader]);

        Assert.Empty(wrong);
        Assert.True(writes > 100 && reads > 10, $"{writes} writes, {reads} reads");
        Assert.Contains(log, line => line.StartsWith("Backfilled 0009_favorites_count.sql: 30 batches", StringComparison.Ordinal));
        await using var check = await db.OpenConnectionAsync();
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("""
            SELECT count(*) FROM articles a WHERE favorites_count IS DISTINCT FROM (SELECT count(*) FROM favorites f WHERE f.article_id = a.id)
            """));
        Assert.Equal(1, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM schema_backfills WHERE version = 9 AND completed_at IS NOT NULL"));
    }

    [Fact]
    public async Task A_backfill_cut_short_resumes_at_the_next_migrate()
    {
        await using var db = await DatabaseAtAsync(8);
        await ExecuteAsync(db, """
            INSERT INTO users (username, email, password_hash) VALUES ('u', 'u@example.com', 'x');
            INSERT INTO articles (slug, title, description, body, author_id) SELECT 'a-' || i, 'A', 'd', 'b', 1 FROM generate_series(1, 500) AS i;
            INSERT INTO favorites (user_id, article_id) SELECT 1, i FROM generate_series(1, 500, 2) AS i;
            """);
        // The schema change commits, then the run stops in its backfill's second batch (as a killed release command would).
        var cut = WithBackfillBatch(100).Select(m => m.Version == 9 ? new Migrations.Migration(9, m.Name, m.Script.Replace(
            "-- migration: backfill SELECT backfill_favorites_count($1, 100)", "-- migration: backfill SELECT CASE WHEN $1 < 100 THEN backfill_favorites_count($1, 100) ELSE 1 / 0 END")) : m).ToArray();
        await Assert.ThrowsAsync<PostgresException>(() => Migrations.ApplyAsync(db, cut));
        await using var check = await db.OpenConnectionAsync();
        Assert.Equal(400, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM articles WHERE favorites_count IS NULL"));
        Assert.Equal(1, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM schema_backfills WHERE version = 9 AND completed_at IS NULL"));

        var applied = await Migrations.ApplyAsync(db, WithBackfillBatch(100));

        Assert.Empty(applied);  // the schema was there: only the backfill ran
        Assert.Equal(250, await check.ExecuteScalarAsync<long>("SELECT sum(favorites_count) FROM articles"));
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM articles WHERE favorites_count IS NULL"));
    }

    [Fact]
    public async Task A_database_that_ran_0009_before_it_had_a_backfill_is_left_as_it_is()
    {
        await using var db = await DatabaseAtAsync(8);
        await ExecuteAsync(db, """
            INSERT INTO users (username, email, password_hash) VALUES ('u', 'u@example.com', 'x');
            INSERT INTO articles (slug, title, description, body, author_id) VALUES ('a-1', 'A', 'd', 'b', 1);
            """);
        // As the former 0009 did it: the counts filled in its own transaction, no backfill function.
        IReadOnlyList<Migrations.Migration> former = [new Migrations.Migration(9, "0009_favorites_count.sql", """
            ALTER TABLE articles ADD COLUMN favorites_count bigint NOT NULL DEFAULT 0;
            CREATE FUNCTION favorites_count_changed() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
            """)];
        await Migrations.ApplyAsync(db, former);

        var applied = await Migrations.ApplyAsync(db);

        Assert.Equal(Migrations.Embedded.Where(m => m.Version > 9).Select(m => m.Name), applied);
        await using var check = await db.OpenConnectionAsync();
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM schema_backfills"));
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM pg_proc WHERE proname = 'backfill_favorites_count'"));
    }

    [Fact]
    public async Task A_migration_that_cannot_get_its_lock_gives_way_to_requests_and_tries_again()
    {
        await using var db = await DatabaseAtAsync(8);
        // A long read holds its lock on articles, as a slow report would; 0009 needs the table alone for a moment.
        await using var slow = await db.OpenConnectionAsync();
        var reading = await slow.BeginTransactionAsync();
        await slow.ExecuteAsync("SELECT count(*) FROM articles", transaction: reading);
        var log = new List<string>();
        var migrating = Migrations.ApplyAsync(db, lockTimeout: TimeSpan.FromMilliseconds(200), log: line => { lock (log) log.Add(line); });

        // Requests keep being answered meanwhile: none waits behind the migration's place in the queue for long.
        var longest = TimeSpan.Zero;
        await using var requests = await db.OpenConnectionAsync();
        for (var deadline = Stopwatch.StartNew(); deadline.Elapsed < TimeSpan.FromSeconds(2.5);)
        {
            var started = Stopwatch.StartNew();
            await requests.ExecuteScalarAsync<long>("SELECT count(*) FROM articles");
            longest = TimeSpan.FromTicks(Math.Max(longest.Ticks, started.Elapsed.Ticks));
            await Task.Delay(10);
        }
        Assert.False(migrating.IsCompleted);
        await reading.CommitAsync();
        await migrating;

        Assert.True(longest < TimeSpan.FromSeconds(1), $"a request waited {longest.TotalMilliseconds:0} ms behind the migration");
        lock (log) Assert.Contains(log, line => line.StartsWith("0009_favorites_count.sql waited 200 ms for a lock", StringComparison.Ordinal));
        Assert.Equal(Migrations.Latest, await Migrations.CurrentVersionAsync(db, CancellationToken.None));
    }

    [Fact]
    public async Task A_migration_outside_a_transaction_builds_an_index_concurrently_and_runs_again_after_a_failed_build()
    {
        await using var db = await DatabaseAtAsync(int.MaxValue);
        await ExecuteAsync(db, "CREATE TABLE tests_codes (code text); INSERT INTO tests_codes VALUES ('a'), ('a'), ('b')");
        IReadOnlyList<Migrations.Migration> mine = [.. Migrations.Embedded, new Migrations.Migration(9000, "9000_codes_unique.sql", """
            -- migration: no transaction
            -- A build that failed leaves its index behind, invalid: drop it, then build.
            DROP INDEX CONCURRENTLY IF EXISTS tests_codes_code;
            CREATE UNIQUE INDEX CONCURRENTLY tests_codes_code ON tests_codes (code);
            """)];

        await Assert.ThrowsAsync<PostgresException>(() => Migrations.ApplyAsync(db, mine));  // 'a' twice: the build fails
        await using var check = await db.OpenConnectionAsync();
        Assert.False(await check.ExecuteScalarAsync<bool>("SELECT indisvalid FROM pg_index WHERE indexrelid = 'tests_codes_code'::regclass"));
        await check.ExecuteAsync("DELETE FROM tests_codes WHERE ctid = (SELECT min(ctid) FROM tests_codes WHERE code = 'a')");

        Assert.Equal(["9000_codes_unique.sql"], await Migrations.ApplyAsync(db, mine));
        Assert.True(await check.ExecuteScalarAsync<bool>("SELECT indisvalid FROM pg_index WHERE indexrelid = 'tests_codes_code'::regclass"));
        Assert.Empty(await Migrations.ApplyAsync(db, mine));
    }

    [Fact]
    public void A_no_transaction_script_splits_into_its_statements()
    {
        Assert.Equal(["DROP INDEX CONCURRENTLY IF EXISTS i;", "CREATE INDEX CONCURRENTLY i\n    ON t (x);"],
            Migrations.Statements("-- migration: no transaction\n\nDROP INDEX CONCURRENTLY IF EXISTS i;\n-- why\nCREATE INDEX CONCURRENTLY i\n    ON t (x);\n"));
    }
}
