using Blog.Api.Hosting;
using Npgsql;

namespace Blog.Api.Data;

/// <summary>
/// The database as the endpoints use it: each request takes one connection, for its one
/// statement, with <see cref="Read"/> or <see cref="Write"/>.
///
/// Statements are prepared where that is safe (Npgsql's automatic preparation): planning is
/// most of what the database does for a list request, and a prepared statement is planned
/// once per server connection. Safe means a direct connection, or a pooler that keeps
/// protocol-level prepared statements across transactions (PgBouncer 1.21 and later with
/// max_prepared_statements, as Neon's pooler runs). A pooler that does not keep them hands
/// the next transaction to any server connection, where a statement of the same name may be
/// another client's: a different statement could run with our parameters. So the process
/// starts unprepared and finds out first (<see cref="ProbeAsync"/>, in the background, half a
/// second after the first request), and prepares only when it is safe. Should the pooler later refuse a
/// prepared statement ("does not exist", "already exists"; nothing ran), the process goes
/// back to unprepared statements, once, and the request runs again (<see cref="RetriedUnprepared"/>).
/// PREPARED_STATEMENTS=off never prepares; =on prepares without probing.
/// </summary>
internal sealed class Db
{
    static readonly TimeSpan ProbeAgainAfter = TimeSpan.FromSeconds(30);
    static readonly TimeSpan ProbeDelay = TimeSpan.FromMilliseconds(500);

    readonly Settings settings;
    readonly ILogger<Db> log;
    readonly Lock switching = new();
    volatile NpgsqlDataSource current;
    volatile bool prepared;
    int probing;  // 1 while a probe runs
    long nextProbe = 0;  // Environment.TickCount64 after which an unfinished probe may run again; long.MaxValue once done

    public Db(Settings settings, ILogger<Db> log)
    {
        this.settings = settings;
        this.log = log;
        prepared = settings.PreparedStatements == PreparedStatements.On;
        current = Database.CreateDataSource(settings.DatabaseUrl, prepare: prepared);
        if (settings.PreparedStatements != PreparedStatements.Auto) nextProbe = long.MaxValue;
    }

    /// <summary>Whether statements are prepared now.</summary>
    public bool Prepared => prepared;

    /// <summary>The pooled data source in use (health checks).</summary>
    public NpgsqlDataSource Source => current;

    /// <summary>A connection for a statement that only reads.</summary>
    public NpgsqlConnection Read() => Connection();

    /// <summary>A connection for a statement that writes.</summary>
    public NpgsqlConnection Write() => Connection();

    NpgsqlConnection Connection()
    {
        if (Environment.TickCount64 >= Interlocked.Read(ref nextProbe) && Interlocked.Exchange(ref probing, 1) == 0) _ = ProbeAsync();
        return current.CreateConnection();
    }

    /// <summary>
    /// Whether prepared statements are safe on this connection path, decided on a connection
    /// of its own: a direct connection reports the server process's own id at start-up
    /// (PgBouncer makes one up); a pooler that keeps prepared statements renames them on the
    /// server (PGBOUNCER_n), where one that passes them through leaves Npgsql's own name.
    /// </summary>
    async Task ProbeAsync()
    {
        try
        {
            // After the request that asked: the first answer after a cold start waits for nothing.
            await Task.Delay(ProbeDelay);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await using var probe = Database.CreateDataSource(settings.DatabaseUrl, traced: false);
            await using var connection = await probe.OpenConnectionAsync(timeout.Token);
            await using var transaction = await connection.BeginTransactionAsync(timeout.Token);
            await using var command = new NpgsqlCommand(
                "SELECT pg_backend_pid(), coalesce((SELECT string_agg(name, ',') FROM pg_prepared_statements WHERE NOT from_sql), '')", connection, transaction);
            await command.PrepareAsync(timeout.Token);
            await using (var reader = await command.ExecuteReaderAsync(timeout.Token))
            {
                await reader.ReadAsync(timeout.Token);
                var (direct, kept) = (reader.GetInt32(0) == connection.ProcessID, reader.GetString(1).Contains("PGBOUNCER_", StringComparison.Ordinal));
                if (direct || kept)
                {
                    current = Database.CreateDataSource(settings.DatabaseUrl, prepare: true);
                    prepared = true;
                    log.LogInformation("Statements are prepared: {Path}.", direct ? "the connection goes straight to PostgreSQL" : "the pooler keeps prepared statements");
                }
                else
                {
                    log.LogWarning("Statements are sent unprepared: the connection goes through a pooler that does not keep prepared statements " +
                        "(PgBouncer before 1.21, or max_prepared_statements = 0). PgBouncer 1.21 or later with max_prepared_statements > 0 keeps them, as Neon's pooler does.");
                }
            }
            await command.UnprepareAsync(timeout.Token);
            await transaction.CommitAsync(timeout.Token);
            Interlocked.Exchange(ref nextProbe, long.MaxValue);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            Interlocked.Exchange(ref nextProbe, Environment.TickCount64 + (long)ProbeAgainAfter.TotalMilliseconds);  // the database is away; ask again later
        }
        finally
        {
            Interlocked.Exchange(ref probing, 0);
        }
    }

    /// <summary>
    /// Whether <paramref name="exception"/> is a pooler refusing a prepared statement, and the
    /// process now sends them unprepared (switching, the first time), so the request can run again.
    /// </summary>
    bool FallsBackToUnprepared(Exception exception)
    {
        if (exception is not PostgresException { SqlState: PostgresErrorCodes.InvalidSqlStatementName or PostgresErrorCodes.DuplicatePreparedStatement } e ||
            settings.PreparedStatements == PreparedStatements.Off)
        {
            return false;
        }
        lock (switching)
        {
            if (prepared)
            {
                // The old source is left to the collector: requests still running hold its connections.
                current = Database.CreateDataSource(settings.DatabaseUrl, prepare: false);
                prepared = false;
                log.LogWarning("The database pooler refused a prepared statement ({SqlState}: {Message}); statements are sent unprepared from now on.", e.SqlState, e.MessageText);
            }
        }
        return true;
    }

    /// <summary>
    /// Runs the endpoints of <paramref name="group"/> once more, unprepared, when the pooler
    /// refused a prepared statement. Nothing ran: the refusal comes before the statement does.
    /// </summary>
    public static RouteGroupBuilder RetriedUnprepared(RouteGroupBuilder group) => group.AddEndpointFilter(async (context, next) =>
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (context.HttpContext.RequestServices.GetRequiredService<Db>().FallsBackToUnprepared(e))
        {
            return await next(context);
        }
    });
}

internal enum PreparedStatements { Auto, On, Off }
