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
/// second after the first request), and prepares only when it is safe, with a new pool whose
/// connections are open before requests go there; the old pool's close. Should the pooler later refuse a
/// prepared statement ("does not exist", "already exists"; nothing ran), the process goes
/// back to unprepared statements, once, and the request runs again (<see cref="Retried"/>).
/// PREPARED_STATEMENTS=off never prepares; =on prepares without probing.
///
/// With a read replica (<see cref="Replica"/>), reads go to it while it serves, and a write's
/// answer waits until the replica has it (<see cref="Retried"/>).
/// </summary>
internal sealed class Db
{
    static readonly TimeSpan ProbeAgainAfter = TimeSpan.FromSeconds(30);
    static readonly TimeSpan ProbeDelay = TimeSpan.FromMilliseconds(500);

    readonly Settings settings;
    readonly ILogger<Db> log;
    readonly Freezes? freezes;
    readonly Lock switching = new();
    volatile NpgsqlDataSource current;
    volatile bool prepared;
    int probing;  // 1 while a probe runs
    long nextProbe = 0;  // Environment.TickCount64 after which an unfinished probe may run again; long.MaxValue once done

    static readonly object WrittenKey = new(), ReplicaReadKey = new(), AfterReplayKey = new(), BeforeAnswerKey = new();

    public Db(Settings settings, ILogger<Db> log, Freezes? freezes = null)
    {
        this.settings = settings;
        this.log = log;
        this.freezes = freezes;
        if (settings.ReplicaUrl is { } replica) Replica = new Replica(replica, settings, log);
        prepared = settings.PreparedStatements == PreparedStatements.On;
        current = Database.CreateDataSource(settings.DatabaseUrl, Database.RequestCommandTimeout, prepare: prepared, poolSize: settings.DatabasePoolSize);
        if (settings.PreparedStatements != PreparedStatements.Auto) nextProbe = long.MaxValue;
        if (freezes is not null) freezes.Thawed += Thawed;
    }

    /// <summary>
    /// The process was frozen (Freezes): the connections in the pools may be dead without a word,
    /// so they go, and the next requests open new ones; the replica is checked again before it
    /// serves. The cache's listener starts over too (EdgeCache).
    /// </summary>
    void Thawed(TimeSpan frozen)
    {
        log.LogInformation("The process was frozen for {Seconds:0.0} s: the database connections it held are dropped and opened anew.", frozen.TotalSeconds);
        current.Clear();
        Replica?.Thawed();
    }

    /// <summary>Whether statements are prepared now.</summary>
    public bool Prepared => prepared;

    /// <summary>The pooled data source in use (health checks).</summary>
    public NpgsqlDataSource Source => current;

    /// <summary>The read replica of this region, if one is configured.</summary>
    public Replica? Replica { get; }

    /// <summary>A connection for a statement that only reads: the replica's while it serves.</summary>
    public NpgsqlConnection Read()
    {
        freezes?.Check();
        if (Replica?.ForRead() is not { } replica) return Connection();
        if (StatementDeadline.Requests.HttpContext is { } http) http.Items[ReplicaReadKey] = true;
        return replica;
    }

    /// <summary>
    /// A connection for a statement that writes, on the primary. With a replica, it hears the
    /// notice in which the statement names its transaction (migration 0008), for the answer to
    /// wait for (<see cref="Retried"/>).
    /// </summary>
    public NpgsqlConnection Write()
    {
        var connection = Connection();
        if (Replica is not null && StatementDeadline.Requests.HttpContext is { } http)
        {
            connection.Notice += (_, e) =>
            {
                if (e.Notice.MessageText.StartsWith("written ", StringComparison.Ordinal) && long.TryParse(e.Notice.MessageText.AsSpan(8), out var xid))
                {
                    http.Items[WrittenKey] = xid;
                }
            };
        }
        return connection;
    }

    /// <summary>Runs <paramref name="action"/> once the replica has this request's write (at once without a replica).</summary>
    public static void OnceReplayed(HttpContext http, Action action)
    {
        if (http.Items.TryGetValue(AfterReplayKey, out var actions)) ((List<Action>)actions!).Add(action);
        else http.Items[AfterReplayKey] = new List<Action> { action };
    }

    /// <summary>
    /// Awaits <paramref name="work"/> before this request's answer leaves, after what waited for
    /// the replica (<see cref="OnceReplayed"/>); it is given whether the replica has the request's
    /// write (true without a replica).
    /// </summary>
    public static void BeforeAnswer(HttpContext http, Func<bool, Task> work)
    {
        if (http.Items.TryGetValue(BeforeAnswerKey, out var works)) ((List<Func<bool, Task>>)works!).Add(work);
        else http.Items[BeforeAnswerKey] = new List<Func<bool, Task>> { work };
    }

    NpgsqlConnection Connection()
    {
        freezes?.Check();
        if (Environment.TickCount64 >= Interlocked.Read(ref nextProbe) && Interlocked.Exchange(ref probing, 1) == 0) Background.Start(ProbeAsync);
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
            if (await PathAsync(settings.DatabaseUrl) is not { } path)
            {
                Interlocked.Exchange(ref nextProbe, Environment.TickCount64 + (long)ProbeAgainAfter.TotalMilliseconds);  // the database is away; ask again later
                return;
            }
            if (path != ConnectionPath.PassingPooler)
            {
                var next = Database.CreateDataSource(settings.DatabaseUrl, Database.RequestCommandTimeout, prepare: true, poolSize: settings.DatabasePoolSize);
                var warm = await WarmAsync(next, InFlight.Running);
                var unprepared = current;
                current = next;
                prepared = true;
                unprepared.Clear();  // its idle connections close now, the busy ones as their requests return them
                log.LogInformation("Statements are prepared: {Path} ({Connections} connections opened for them first).",
                    path == ConnectionPath.Direct ? "the connection goes straight to PostgreSQL" : "the pooler keeps prepared statements", warm);
            }
            else
            {
                log.LogWarning("Statements are sent unprepared: the connection goes through a pooler that does not keep prepared statements " +
                    "(PgBouncer before 1.21, or max_prepared_statements = 0). PgBouncer 1.21 or later with max_prepared_statements > 0 keeps them, as Neon's pooler does.");
            }
            Interlocked.Exchange(ref nextProbe, long.MaxValue);
        }
        finally
        {
            Interlocked.Exchange(ref probing, 0);
        }
    }

    /// <summary>
    /// Opens <paramref name="connections"/> connections of a new pool (at least one, at most the
    /// pool's size) and returns them to it, before requests are sent there: else every request
    /// running at the switch would wait to connect, a pool's worth of connections at once
    /// (measured under load: the p99 rose from 20 ms to over a second). A database that does not
    /// answer leaves the rest to the requests. Returns how many it opened.
    /// </summary>
    static async Task<int> WarmAsync(NpgsqlDataSource source, int connections)
    {
        var opening = new Task<NpgsqlConnection>[Math.Clamp(connections, 1, new NpgsqlConnectionStringBuilder(source.ConnectionString).MaxPoolSize)];
        for (var i = 0; i < opening.Length; i++) opening[i] = source.OpenConnectionAsync().AsTask();
        try
        {
            await Task.WhenAll(opening);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
        }
        var opened = 0;
        foreach (var open in opening)
        {
            if (!open.IsCompletedSuccessfully) continue;
            await open.Result.DisposeAsync();
            opened++;
        }
        return opened;
    }

    internal enum ConnectionPath { Direct, KeepingPooler, PassingPooler }

    /// <summary>
    /// How <paramref name="url"/> reaches PostgreSQL, found on a connection of its own: a direct
    /// connection reports the server process's own id at start-up (PgBouncer makes one up); a
    /// pooler that keeps prepared statements renames them on the server (PGBOUNCER_n), where one
    /// that passes them through leaves Npgsql's own name. Null: the database is away.
    /// </summary>
    internal static async Task<ConnectionPath?> PathAsync(string url)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await using var probe = Database.CreateDataSource(url, name: "probe");
            await using var connection = await probe.OpenConnectionAsync(timeout.Token);
            await using var transaction = await connection.BeginTransactionAsync(timeout.Token);
            await using var command = new NpgsqlCommand(
                "SELECT pg_backend_pid(), coalesce((SELECT string_agg(name, ',') FROM pg_prepared_statements WHERE NOT from_sql), '')", connection, transaction);
            await command.PrepareAsync(timeout.Token);
            ConnectionPath path;
            await using (var reader = await command.ExecuteReaderAsync(timeout.Token))
            {
                await reader.ReadAsync(timeout.Token);
                path = reader.GetInt32(0) == connection.ProcessID ? ConnectionPath.Direct
                    : reader.GetString(1).Contains("PGBOUNCER_", StringComparison.Ordinal) ? ConnectionPath.KeepingPooler
                    : ConnectionPath.PassingPooler;
            }
            await command.UnprepareAsync(timeout.Token);
            await transaction.CommitAsync(timeout.Token);
            return path;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
        {
            return null;
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
                var refused = current;
                current = Database.CreateDataSource(settings.DatabaseUrl, Database.RequestCommandTimeout, prepare: false, poolSize: settings.DatabasePoolSize);
                prepared = false;
                refused.Clear();  // its connections hold statements the pooler lost; the busy ones close as they return
                Metrics.PreparedFallbacks.Add(1);
                log.LogWarning("The database pooler refused a prepared statement ({SqlState}: {Message}); statements are sent unprepared from now on.", e.SqlState, e.MessageText);
            }
        }
        return true;
    }

    /// <summary>
    /// Runs the endpoints of <paramref name="group"/> once more when the database path failed
    /// them, not their statement: unprepared, when the pooler refused a prepared statement
    /// (nothing ran: the refusal comes before the statement does); on the primary, when a read
    /// on the replica failed; and once more when a deadlock rolled it back. With a replica, a write's answer then waits until the replica has
    /// it (read-your-writes), what waited for that runs (<see cref="OnceReplayed"/>), and then what
    /// the answer waits for (<see cref="BeforeAnswer"/>: the region's peers evicting the write).
    /// </summary>
    public static RouteGroupBuilder Retried(RouteGroupBuilder group) => group.AddEndpointFilter(async (context, next) =>
    {
        var http = context.HttpContext;
        var db = http.RequestServices.GetRequiredService<Db>();
        object? result;
        try
        {
            result = await next(context);
        }
        catch (Exception e) when (db.FallsBackToUnprepared(e) || db.FallsBackToPrimary(http, e) || IsDeadlockVictim(e))
        {
            result = await next(context);
        }
        var replayed = true;  // no replica, or it has this request's write
        if (db.Replica is { } replica && http.Items.TryGetValue(WrittenKey, out var xid))
        {
            replayed = await replica.AwaitAsync((long)xid!);
        }
        if (http.Items.TryGetValue(AfterReplayKey, out var actions))
        {
            foreach (var action in (List<Action>)actions!) action();
        }
        if (http.Items.TryGetValue(BeforeAnswerKey, out var works))
        {
            await Task.WhenAll(((List<Func<bool, Task>>)works!).Select(work => work(replayed)));
        }
        return result;
    });

    /// <summary>
    /// Whether the statement was chosen to break a deadlock: it was rolled back whole, so running
    /// it again is safe. Requests lock tables in one order (an article before its favorites),
    /// but a migration's DDL can take them in another while the previous release serves.
    /// </summary>
    static bool IsDeadlockVictim(Exception exception) => exception is PostgresException { SqlState: PostgresErrorCodes.DeadlockDetected };

    /// <summary>Whether <paramref name="exception"/> failed a read on the replica, which then stops serving, so the request can run again.</summary>
    bool FallsBackToPrimary(HttpContext http, Exception exception)
    {
        if (Replica is null || !http.Items.Remove(ReplicaReadKey)) return false;
        // The replica's own trouble: unreachable, starting, shutting down, full, or a query
        // cancelled by a conflict with recovery. A statement's error would fail on the primary too.
        var replicaFault = exception switch
        {
            PostgresException e => e.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.AdminShutdown or
                PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.CrashShutdown,
            NpgsqlException or TimeoutException => true,
            _ => false,
        };
        if (!replicaFault) return false;
        Replica.Failed(exception);
        return true;
    }
}

internal enum PreparedStatements { Auto, On, Off }
