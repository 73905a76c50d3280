using Npgsql;

namespace Blog.Api.Data;

/// <summary>
/// Applies the numbered .sql files embedded under Infrastructure/Migrations, in order, all in
/// one transaction. A transaction-scoped advisory lock (not a session one, which PgBouncer in
/// transaction mode would lose) makes concurrent runs wait for each other; the second then
/// finds everything applied and does nothing.
/// </summary>
internal static class Migrations
{
    const string Prefix = "migrations/";

    public static IReadOnlyList<(int Version, string Name)> Embedded { get; } =
        typeof(Migrations).Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .Select(n => n[Prefix.Length..])
            .Select(n => (Version: int.Parse(n[..n.IndexOf('_')], System.Globalization.CultureInfo.InvariantCulture), Name: n))
            .OrderBy(m => m.Version)
            .ToArray();

    public static int Latest => Embedded[^1].Version;

    /// <summary>Applies the migrations not applied yet, up to version <c>through</c> (a test of a migration stops before it).</summary>
    /// <returns>The names of the migrations this run applied (empty when up to date).</returns>
    public static async Task<IReadOnlyList<string>> ApplyAsync(NpgsqlDataSource db, CancellationToken ct = default, int through = int.MaxValue)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);

        await Execute(connection, """
            SELECT pg_advisory_xact_lock(7280139);  -- any constant, the same in every run
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    int PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
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
        foreach (var (version, name) in Embedded)
        {
            if (applied.TryGetValue(version, out var other) && other != name)
            {
                throw new MigrationHistoryException(
                    $"the database has migration {version} as {other}, where this build has {name}: it was migrated by another build. Restore it, or undo {other} and delete its row from schema_migrations.");
            }
        }

        var ran = new List<string>();
        foreach (var (version, name) in Embedded.Where(m => !applied.ContainsKey(m.Version) && m.Version <= through))
        {
            await Execute(connection, ReadScript(Prefix + name), ct);
            await using var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", connection)
            {
                Parameters = { new() { Value = version }, new() { Value = name } },
            };
            await record.ExecuteNonQueryAsync(ct);
            ran.Add(name);
        }

        await tx.CommitAsync(ct);
        return ran;
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

/// <summary>The database was migrated by another build (<see cref="Migrations.ApplyAsync"/>).</summary>
internal sealed class MigrationHistoryException(string message) : Exception(message);
