using System.Net;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Hosting;

/// <summary>
/// In the PgBouncer run (BLOG_TEST_PGBOUNCER=1, part of scripts/test) every binary test
/// class talks to PostgreSQL through a real PgBouncer in transaction mode; this checks the
/// traffic really takes that path.
/// </summary>
public sealed class PgBouncerTests(BinaryApi api) : ApiTests(api), IClassFixture<BinaryApi>
{
    [SkippableFact]
    public async Task The_service_reaches_its_database_through_PgBouncer_in_transaction_mode()
    {
        var pgBouncer = (await PostgresServer.Instance).PgBouncer;
        Skip.If(pgBouncer is null, $"only in the PgBouncer run ({PostgresServer.PgBouncerVariable}=1)");

        var user = await Register();
        await CreateArticle(user, "Through the pool");
        (await Get("/api/articles", user.Token)).Is(HttpStatusCode.OK);

        Assert.Equal(pgBouncer!.Port, new Npgsql.NpgsqlConnectionStringBuilder(Api.ServiceConnectionString).Port);
        var pools = await Processes.RunAsync("psql", "-h", "127.0.0.1", "-p", pgBouncer.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-U", "postgres", "-d", "pgbouncer", "-tA", "-F", "|", "-c", "SHOW POOLS");
        var pool = pools.Split('\n').Select(l => l.Split('|')).Single(columns => columns[0] == Api.DatabaseName);
        Assert.Equal("transaction", pool[^1]);
    }
}
