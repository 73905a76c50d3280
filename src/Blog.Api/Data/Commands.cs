using Blog.Api.Hosting;
using Npgsql;

namespace Blog.Api.Data;

/// <summary>The binary's sub-commands, run instead of the web server.</summary>
internal static class Commands
{
    public static async Task<int> RunAsync(string command, Settings settings)
    {
        if (command is not ("migrate" or "seed"))
        {
            Console.Error.WriteLine($"Unknown command '{command}'. Usage: Blog.Api [migrate | seed]");
            return 2;
        }
        var databaseProblems = settings.Problems.Where(p => p.StartsWith("DATABASE_URL", StringComparison.Ordinal)).ToArray();
        if (databaseProblems.Length > 0)
        {
            foreach (var problem in databaseProblems) Console.Error.WriteLine(problem);
            return 1;
        }

        // Migrations run on a direct connection when one is given (Neon's non-pooled host); the
        // lock is transaction-scoped, so a pooled endpoint would work as well. No limit per
        // statement: a backfill batch or a concurrent index build on a large table may take
        // minutes, and Fly bounds the release command as a whole; lock waits are bounded
        // (MIGRATION_LOCK_TIMEOUT_MS).
        await using var db = Database.CreateDataSource(command == "migrate" && settings.DirectDatabaseUrl is { } direct ? direct : settings.DatabaseUrl, commandTimeout: 0);
        try
        {
            if (command == "migrate")
            {
                var applied = await Migrations.ApplyAsync(db, lockTimeout: settings.MigrationLockTimeout, log: Console.WriteLine);
                Console.WriteLine(applied.Count == 0
                    ? $"Database is up to date (version {Migrations.Latest})."
                    : $"Applied {string.Join(", ", applied)}.");
            }
            else
            {
                await DemoData.SeedAsync(db);
                Console.WriteLine($"Seeded demo data; every demo user's password is '{DemoData.Password}'.");
            }
            return 0;
        }
        catch (Exception e) when (e is NpgsqlException or MigrationHistoryException)
        {
            Console.Error.WriteLine($"{command} failed: {e.Message}");
            return 1;
        }
    }
}
