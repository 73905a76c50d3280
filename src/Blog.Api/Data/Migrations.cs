using Npgsql;

namespace Blog.Api.Data;

/// <summary>
/// Applies the numbered .sql files embedded under Data/Migrations, in order, each in a
/// transaction of its own, while the previous release keeps serving on the same database.
///
/// A transaction-scoped advisory lock, held by a transaction of its own for the whole run (not a
/// session lock, which PgBouncer in transaction mode would lose), makes concurrent runs wait for
/// each other; the second then finds everything applied and does nothing.
///
/// No migration waits in the lock queue: a statement that waits for a table's lock makes every
/// request that touches the table queue behind it. Each runs with lock_timeout
/// (MIGRATION_LOCK_TIMEOUT_MS, 1 s) and, refused, is rolled back and tried again after a pause
/// that doubles (a quarter of a second to 8 s, 12 tries). tests/lint lints every file with
/// Squawk (the suite runs it).
///
/// A file can say, in its opening comment lines:
/// <list type="bullet">
/// <item><c>-- migration: no transaction</c>: its statements (one per line-ending <c>;</c>, no
/// dollar quotes) run one by one outside a transaction, as CREATE INDEX CONCURRENTLY must. Each
/// must be safe to run again after a crash (drop the index a failed build left invalid first).</item>
/// <item><c>-- migration: backfill SELECT f($1)</c>: after its schema change commits, the
/// statement runs again and again, each run a transaction of its own, with $1 the key it
/// returned last (0 at first), until it returns null. It must be safe to run again (fill only
/// what is not filled), so that a run cut short resumes at the next migrate. The schema change
/// records the backfill as due in schema_backfills, and the run that completes it says when;
/// until then, readers must not trust what it fills.</item>
/// </list>
/// </summary>
internal static class Migrations
{
    const string Prefix = "migrations/";
    const string NoTransaction = "-- migration: no transaction";
    const string BackfillPrefix = "-- migration: backfill ";
    const int Attempts = 12;
    static readonly TimeSpan FirstPause = TimeSpan.FromMilliseconds(250), LastPause = TimeSpan.FromSeconds(8);

    /// <summary>
    /// The most a migration's transaction may run a statement: it changes the schema (the data
    /// goes in backfills), and whatever locks it took are held as long as it runs.
    /// </summary>
    static readonly TimeSpan StatementTimeout = TimeSpan.FromMinutes(1);

    /// <summary>A migration: this build's (its script read when first needed) or a test's own.</summary>
    public sealed class Migration(int version, string name, string? script = null)
    {
        public int Version => version;
        public string Name => name;
        public string Script => script ??= ReadScript(Prefix + name);
        string[] Header => Script.Split('\n').TakeWhile(line => line.StartsWith("--", StringComparison.Ordinal)).ToArray();
        public bool InTransaction => !Header.Any(line => line.Trim() == NoTransaction);
        public string? Backfill => Header.FirstOrDefault(line => line.StartsWith(BackfillPrefix, StringComparison.Ordinal))?[BackfillPrefix.Length..].Trim();
    }

    public static IReadOnlyList<Migration> Embedded { get; } =
        typeof(Migrations).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..])
            .Select(name => new Migration(int.Parse(name[..name.IndexOf('_')], System.Globalization.CultureInfo.InvariantCulture), name))
            .OrderBy(m => m.Version)
            .ToArray();

    public static int Latest => Embedded[^1].Version;

    /// <summary>
    /// Applies the migrations not applied yet, up to version <c>through</c> (a test of a
    /// migration stops before it), then the backfills not completed yet; <paramref name="log"/>
    /// hears what it does.
    /// </summary>
    /// <returns>The names of the migrations this run applied (empty when up to date).</returns>
    public static Task<IReadOnlyList<string>> ApplyAsync(
        NpgsqlDataSource db, CancellationToken ct = default, int through = int.MaxValue, TimeSpan? lockTimeout = null, Action<string>? log = null) =>
        ApplyAsync(db, Embedded, ct, through, lockTimeout, log);

    /// <summary>Applies <paramref name="migrations"/> (this build's, or a test's own).</summary>
    internal static async Task<IReadOnlyList<string>> ApplyAsync(NpgsqlDataSource db, IReadOnlyList<Migration> migrations,
        CancellationToken ct = default, int through = int.MaxValue, TimeSpan? lockTimeout = null, Action<string>? log = null)
    {
        var timeout = (int)(lockTimeout ?? TimeSpan.FromSeconds(1)).TotalMilliseconds;
        await using var locking = await db.OpenConnectionAsync(ct);
        await using var held = await locking.BeginTransactionAsync(ct);
        // Any constant, the same in every run and release. Taken in a DO block: a SELECT would leave
        // its portal open, and with it a snapshot that holds back vacuum and that every CREATE
        // INDEX CONCURRENTLY waits out (for the whole run: forever).
        await Execute(locking, "DO $$ BEGIN PERFORM pg_advisory_xact_lock(7280139); END $$", ct);

        await using var connection = await db.OpenConnectionAsync(ct);
        await Execute(connection, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    int PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE IF NOT EXISTS schema_backfills (
                version      int PRIMARY KEY,
                completed_at timestamptz  -- null while due
            );
            """, ct);

        var applied = new Dictionary<int, string>();
        await using (var cmd = new NpgsqlCommand("SELECT version, name FROM schema_migrations", connection))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) applied.Add(reader.GetInt32(0), reader.GetString(1));
        }
        // A version applied under another name is another build's migration (a branch, an
        // experiment): the schema is not the one this build's statements expect, and applying
        // the rest over it would hide that until requests fail.
        foreach (var migration in migrations)
        {
            if (applied.TryGetValue(migration.Version, out var other) && other != migration.Name)
            {
                throw new MigrationHistoryException(
                    $"the database has migration {migration.Version} as {other}, where this build has {migration.Name}: it was migrated by another build. Restore it, or undo {other} and delete its row from schema_migrations.");
            }
        }

        var ran = new List<string>();
        foreach (var migration in migrations.Where(m => !applied.ContainsKey(m.Version) && m.Version <= through))
        {
            if (migration.InTransaction) await ApplyInTransactionAsync(connection, migration, timeout, log, ct);
            else await ApplyStatementByStatementAsync(connection, migration, ct);
            ran.Add(migration.Name);
        }

        // Due: recorded with their schema change (a database that ran a migration before it had
        // a backfill has nothing due), not completed yet.
        var due = new HashSet<int>();
        await using (var cmd = new NpgsqlCommand("SELECT version FROM schema_backfills WHERE completed_at IS NULL", connection))
        await using (var reader = await cmd.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct)) due.Add(reader.GetInt32(0));
        }
        foreach (var migration in migrations.Where(m => m.Backfill is not null && due.Contains(m.Version)))
        {
            await BackfillAsync(connection, migration, log, ct);
        }

        await held.CommitAsync(ct);
        return ran;
    }

    /// <summary>One migration in one transaction with lock_timeout; refused a lock, it is rolled back and tried again.</summary>
    static async Task ApplyInTransactionAsync(NpgsqlConnection connection, Migration migration, int lockTimeoutMs, Action<string>? log, CancellationToken ct)
    {
        var pause = FirstPause;
        for (var attempt = 1; ; attempt++)
        {
            await using var tx = await connection.BeginTransactionAsync(ct);
            try
            {
                await Execute(connection, $"SET LOCAL lock_timeout = {lockTimeoutMs}; SET LOCAL statement_timeout = {(int)StatementTimeout.TotalMilliseconds}", ct);
                await Execute(connection, migration.Script, ct);
                await Record(connection, migration, ct);
                await tx.CommitAsync(ct);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable && attempt < Attempts)
            {
                await tx.RollbackAsync(ct);
                log?.Invoke($"{migration.Name} waited {lockTimeoutMs} ms for a lock ({e.MessageText}); trying again in {pause.TotalSeconds:0.##} s.");
                await Task.Delay(pause + TimeSpan.FromMilliseconds(Random.Shared.Next(100)), ct);
                pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, LastPause.Ticks));
            }
        }
    }

    /// <summary>A no-transaction migration: each statement on its own, then its record.</summary>
    static async Task ApplyStatementByStatementAsync(NpgsqlConnection connection, Migration migration, CancellationToken ct)
    {
        foreach (var statement in Statements(migration.Script))
        {
            await Execute(connection, statement, ct);
        }
        await Record(connection, migration, ct);
    }

    /// <summary>The statements of a no-transaction script: each ends with ';' at the end of a line; comment lines go.</summary>
    internal static IEnumerable<string> Statements(string script)
    {
        var statement = new System.Text.StringBuilder();
        foreach (var line in script.Split('\n'))
        {
            if (line.TrimStart().StartsWith("--", StringComparison.Ordinal) || line.Trim().Length == 0) continue;
            statement.AppendLine(line);
            if (!line.TrimEnd().EndsWith(';')) continue;
            yield return statement.ToString().Trim();
            statement.Clear();
        }
        if (statement.ToString().Trim() is { Length: > 0 } rest) yield return rest;
    }

    static async Task BackfillAsync(NpgsqlConnection connection, Migration migration, Action<string>? log, CancellationToken ct)
    {
        var (after, batches, started) = (0L, 0, System.Diagnostics.Stopwatch.GetTimestamp());
        while (true)
        {
            await using var cmd = new NpgsqlCommand(migration.Backfill, connection) { Parameters = { new() { Value = after } } };
            if (await cmd.ExecuteScalarAsync(ct) is not long next) break;
            (after, batches) = (next, batches + 1);
        }
        await using (var done = new NpgsqlCommand("UPDATE schema_backfills SET completed_at = now() WHERE version = $1", connection) { Parameters = { new() { Value = migration.Version } } })
        {
            await done.ExecuteNonQueryAsync(ct);
        }
        log?.Invoke($"Backfilled {migration.Name}: {batches} batches in {System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s.");
    }

    static async Task Record(NpgsqlConnection connection, Migration migration, CancellationToken ct)
    {
        await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection)
        {
            Parameters = { new() { Value = migration.Version }, new() { Value = migration.Name } },
        })
        {
            await record.ExecuteNonQueryAsync(ct);
        }
        if (migration.Backfill is null) return;
        await using var due = new NpgsqlCommand("INSERT INTO schema_backfills (version) VALUES ($1)", connection) { Parameters = { new() { Value = migration.Version } } };
        await due.ExecuteNonQueryAsync(ct);
    }

    /// <summary>The version the database is at; throws when it was never migrated.</summary>
    public static async Task<int> CurrentVersionAsync(NpgsqlDataSource db, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("SELECT coalesce(max(version), 0) FROM schema_migrations");
        cmd.CommandTimeout = Database.CommandTimeout;  // the requests' source has none (Database.RequestCommandTimeout)
        return (int)(await cmd.ExecuteScalarAsync(ct))!;
    }

    internal static string ReadScript(string resource)
    {
        using var stream = typeof(Migrations).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Missing embedded resource {resource}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(ct);
    }
}

/// <summary>The database was migrated by another build (Migrations.ApplyAsync refuses it).</summary>
internal sealed class MigrationHistoryException(string message) : Exception(message);
