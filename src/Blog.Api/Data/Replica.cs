using Blog.Api.Hosting;
using Npgsql;

namespace Blog.Api.Data;

/// <summary>
/// A read replica in this instance's region (READ_REPLICA_URL_&lt;FLY_REGION&gt;, else
/// READ_REPLICA_URL): reads go to it, writes to the primary, and a writer reads its own write.
///
/// Read-your-writes. A write statement tells the instance its transaction id (a notice,
/// migration 0008, caught by <see cref="Db.Write"/>). Before the answer leaves, the instance
/// asks the replica to wait until a new snapshot sees that transaction (replayed(), one
/// statement near by), at most REPLICA_WAIT_MS. So when a write returns, every read through
/// an instance of this region (they share the replica) sees it.
///
/// Faults. Reads go to the primary while the replica is down (a read that fails on it runs
/// again on the primary), lags more than REPLICA_MAX_LAG_MS behind what it has received, or
/// let a read-your-writes wait time out (until it has that transaction). A check every
/// second brings it back. No replica fault is a client's error.
/// </summary>
internal sealed class Replica
{
    public enum Health { Starting, Serving, Lagging, Down }

    static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);
    static readonly TimeSpan CheckWhileActive = TimeSpan.FromMinutes(1);  // then the checks stop until a request

    readonly string url;
    readonly Settings settings;
    readonly ILogger log;
    volatile NpgsqlDataSource source;
    volatile Health health = Health.Starting;
    long behindXid;  // the latest write made while it did not serve (or timed out on): it serves again once it has it
    long lastActivity = Environment.TickCount64;
    int checking;

    public Replica(string url, Settings settings, ILogger log)
    {
        this.url = url;
        this.settings = settings;
        this.log = log;
        source = Create(prepare: false);
        Metrics.Meter.CreateObservableGauge("blog.replica.lag", () => Lag.TotalSeconds, unit: "s", description: "How far the read replica was behind at its last check");
        Metrics.Meter.CreateObservableGauge("blog.replica.serving", () => health == Health.Serving ? 1 : 0, description: "1 while reads go to the read replica");
    }

    /// <summary>Where reads go now, and why: the replica only while it is serving.</summary>
    public Health State => health;

    /// <summary>How far behind the replica was at the last check (what it has received, not yet replayed).</summary>
    public TimeSpan Lag { get; private set; }

    /// <summary>Called when the state leaves Serving: an edge cache filled from the replica must forget.</summary>
    public event Action? StoppedServing;

    NpgsqlDataSource Create(bool prepare) => Database.CreateDataSource(url, Database.RequestCommandTimeout, prepare: prepare, name: "replica", adjust: connection =>
    {
        // Near by: a replica that does not answer a connection within a second is treated as down.
        if (!connection.ShouldSerialize("Timeout")) connection.Timeout = 1;
    });

    /// <summary>A connection to the replica for a read, or null when reads go to the primary.</summary>
    public NpgsqlConnection? ForRead()
    {
        Touch();
        return health == Health.Serving ? source.CreateConnection() : null;
    }

    /// <summary>A read on the replica failed (not the statement's fault): reads go to the primary until the checks say otherwise.</summary>
    public void Failed(Exception e) => Leave(Health.Down, e.Message);

    /// <summary>
    /// Waits until the replica sees transaction <paramref name="xid"/>, at most REPLICA_WAIT_MS;
    /// when it does not, reads go to the primary until it has it.
    /// </summary>
    public async Task AwaitAsync(long xid)
    {
        if (health != Health.Serving)
        {
            // Not read from now; but it must have this write before it serves again.
            Behind(xid);
            return;
        }
        try
        {
            await using var connection = source.CreateConnection();
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT replayed($1::text::xid8, $2)", connection)
            {
                Parameters = { new() { Value = xid.ToString(System.Globalization.CultureInfo.InvariantCulture) }, new() { Value = (int)settings.ReplicaWait.TotalMilliseconds } },
                CommandTimeout = (int)settings.ReplicaWait.TotalSeconds + 2,
            };
            if (await command.ExecuteScalarAsync() is true) return;
            Behind(xid);
            Leave(Health.Lagging, $"it did not replay a write within {settings.ReplicaWait.TotalMilliseconds} ms");
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            Leave(Health.Down, e.Message);
        }
    }

    void Behind(long xid)
    {
        for (var seen = Interlocked.Read(ref behindXid); seen < xid; seen = Interlocked.Read(ref behindXid))
        {
            if (Interlocked.CompareExchange(ref behindXid, xid, seen) == seen) return;
        }
    }

    void Leave(Health to, string why)
    {
        var from = health;
        if (from == to || from == Health.Starting && to == Health.Down) { health = to; return; }
        health = to;
        if (from == Health.Serving)
        {
            log.LogWarning("Reads go to the primary: the read replica is {State} ({Why}).", to == Health.Down ? "down" : "lagging", why);
            StoppedServing?.Invoke();
        }
    }

    void Touch()
    {
        Interlocked.Exchange(ref lastActivity, Environment.TickCount64);
        if (Volatile.Read(ref checking) == 0 && Interlocked.Exchange(ref checking, 1) == 0) Background.Start(CheckLoopAsync);
    }

    async Task CheckLoopAsync()
    {
        try
        {
            var probed = settings.PreparedStatements == PreparedStatements.Off;
            while (Environment.TickCount64 - Interlocked.Read(ref lastActivity) < CheckWhileActive.TotalMilliseconds)
            {
                if (!probed && await Db.PathAsync(url) is { } path)
                {
                    probed = true;
                    if (path != Db.ConnectionPath.PassingPooler || settings.PreparedStatements == PreparedStatements.On) source = Create(prepare: true);
                }
                await CheckAsync();
                await Task.Delay(CheckEvery);
            }
        }
        finally
        {
            Volatile.Write(ref checking, 0);
        }
    }

    async Task CheckAsync()
    {
        try
        {
            await using var connection = await source.OpenConnectionAsync();
            var behind = Interlocked.Read(ref behindXid);
            await using var command = new NpgsqlCommand("""
                SELECT CASE WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
                            ELSE coalesce(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()), 0) END::float8,
                       $1 = 0 OR pg_visible_in_snapshot($1::text::xid8, pg_current_snapshot())
                """, connection)
            {
                Parameters = { new() { Value = behind } },
                CommandTimeout = Database.CommandTimeout,
            };
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (lag, caughtUp) = (TimeSpan.FromSeconds(reader.GetDouble(0)), reader.GetBoolean(1));
            Lag = lag;
            if (lag > settings.ReplicaMaxLag || !caughtUp)
            {
                Leave(Health.Lagging, $"{lag.TotalSeconds:F1} s behind");
                return;
            }
            Interlocked.CompareExchange(ref behindXid, 0, behind);  // unless a write came in meanwhile
            if (health != Health.Serving) log.LogInformation("Reads go to the read replica ({Lag:F3} s behind).", lag.TotalSeconds);
            health = Health.Serving;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or FormatException)
        {
            Leave(Health.Down, e.Message);
        }
    }
}
