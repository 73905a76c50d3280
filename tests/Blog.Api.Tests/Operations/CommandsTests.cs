using System.Net;
using Blog.Api.Data;
using Blog.Api.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Blog.Api.Tests.Operations;

/// <summary>The binary's sub-commands, run as a deployment runs them.</summary>
public sealed class CommandsTests
{
    [Fact]
    public async Task Migrate_applies_every_migration_once_and_a_second_run_is_a_no_op()
    {
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();

        var first = await ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor(database), "migrate");
        var second = await ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor(database), "migrate");

        Assert.True(first.ExitCode == 0, first.Output);
        Assert.Contains("Applied 0001_init.sql", first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("up to date", second.Output);
        Assert.Equal(Migrations.Embedded.Count, await CountAppliedAsync(database));
    }

    [Fact]
    public async Task Two_migrations_at_once_both_succeed_and_apply_each_script_once()
    {
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();

        var runs = await Task.WhenAll(
            ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor(database), "migrate"),
            ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor(database), "migrate"));

        Assert.All(runs, run => Assert.True(run.ExitCode == 0, run.Output));
        Assert.Single(runs, run => run.Output.Contains("Applied", StringComparison.Ordinal));
        Assert.Equal(Migrations.Embedded.Count, await CountAppliedAsync(database));
    }

    [Fact]
    public async Task Migrate_uses_the_direct_connection_when_one_is_given()
    {
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();
        var environment = ServiceProcess.EnvironmentFor($"Host=127.0.0.1;Port={Processes.FreePort()};Username=nobody");  // the pooled URL: unreachable
        environment["DIRECT_DATABASE_URL"] = database;

        var run = await ServiceProcess.RunAsync(environment, "migrate");

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Equal(Migrations.Embedded.Count, await CountAppliedAsync(database));
    }

    [Fact]
    public async Task The_binary_is_ready_only_after_migrate()
    {
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();
        await using var service = await ServiceProcess.StartHealthyAsync(ServiceProcess.EnvironmentFor(database, Processes.FreePort()));
        var client = service.Client;

        using (var before = await client.GetAsync("/health/ready")) Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
        Assert.Equal(0, (await ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor(database), "migrate")).ExitCode);
        using (var after = await client.GetAsync("/health/ready")) Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Seed_loads_demo_data_and_a_second_run_adds_nothing()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("seed");

        var first = await ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor(database), "seed");
        var counts = await CountRowsAsync(database);
        var second = await ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor(database), "seed");

        Assert.True(first.ExitCode == 0 && second.ExitCode == 0, first.Output + second.Output);
        Assert.All(counts, table => Assert.True(table.Value > 0, $"the seed put nothing into {table.Key}"));
        Assert.Equal(counts, await CountRowsAsync(database));
    }

    [Fact]
    public async Task Migrate_refuses_a_database_migrated_by_another_build()
    {
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();
        var last = Migrations.Latest;
        await using (var db = NpgsqlDataSource.Create(database))
        {
            await Migrations.ApplyAsync(db, through: last - 1);
            await using var connection = await db.OpenConnectionAsync();
            await connection.ExecuteAsync("INSERT INTO schema_migrations (version, name) VALUES (@last, @name)", new { last, name = $"{last:D4}_experiment.sql" });
        }

        var run = await ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor(database), "migrate");

        Assert.True(run.ExitCode == 1, run.Output);
        Assert.Contains($"migration {last} as {last:D4}_experiment.sql", run.Output);
        Assert.Equal(last, await CountAppliedAsync(database));  // nothing applied over it, nothing said to be up to date
        Assert.DoesNotContain("up to date", run.Output);
    }

    [Fact]
    public async Task An_unknown_command_exits_non_zero_with_usage()
    {
        var run = await ServiceProcess.RunAsync(ServiceProcess.EnvironmentFor("Host=127.0.0.1"), "frobnicate");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Usage", run.Output);
    }

    static async Task<long> CountAppliedAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        return await connection.ExecuteScalarAsync<long>("SELECT count(*) FROM schema_migrations");
    }

    static async Task<Dictionary<string, long>> CountRowsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        var counts = new Dictionary<string, long>();
        foreach (var table in new[] { "users", "follows", "articles", "tags", "article_tags", "favorites", "comments" })
        {
            counts[table] = await connection.ExecuteScalarAsync<long>($"SELECT count(*) FROM {table}");
        }
        return counts;
    }

    [Fact]
    public async Task Migration_0006_normalizes_usernames_and_keeps_colliding_ones_reachable()
    {
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();
        await using var db = NpgsqlDataSource.Create(database);
        await Migrations.ApplyAsync(db, through: 5);
        await using (var connection = await db.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO users (username, email, password_hash) VALUES
                    ('alice', 'a1@example.com', 'x'), ('ａｌｉｃｅ', 'a2@example.com', 'x'), ('ＢＯＢ', 'b@example.com', 'x'), ('аlice', 'c@example.com', 'x')
                """);
        }

        await Migrations.ApplyAsync(db);

        await using var check = await db.OpenConnectionAsync();
        var names = (await check.QueryAsync<string>("SELECT username FROM users ORDER BY id")).ToArray();
        Assert.Equal(["alice", "alice-2", "BOB", "\u0430lice"], names);  // the Cyrillic а stays: it is another name
    }

    [Fact]
    public async Task Migration_0009_counts_the_favorites_made_before_it()
    {
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();
        await using var db = NpgsqlDataSource.Create(database);
        await Migrations.ApplyAsync(db, through: 8);
        await using (var connection = await db.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO users (username, email, password_hash) SELECT 'user' || i, 'user' || i || '@example.com', 'x' FROM generate_series(1, 3) AS i;
                INSERT INTO articles (slug, title, description, body, author_id)
                SELECT 'article-' || i, 'Article ' || i, 'd', 'b', 1 FROM generate_series(1, 3) AS i;
                INSERT INTO favorites (user_id, article_id) VALUES (1, 1), (2, 1), (3, 1), (2, 2);
                """);
        }

        await Migrations.ApplyAsync(db);

        await using var check = await db.OpenConnectionAsync();
        var counts = await check.QueryAsync<long>("SELECT favorites_count FROM articles ORDER BY id");
        Assert.Equal([3, 1, 0], counts);
        await check.ExecuteAsync("INSERT INTO favorites (user_id, article_id) VALUES (1, 3)");
        Assert.Equal(1L, await check.ExecuteScalarAsync<long>("SELECT favorites_count FROM articles WHERE id = 3"));
    }
}
