using System.Diagnostics;
using Blog.Api.Hosting;
using Npgsql;

namespace Blog.Api.Data;

/// <summary>
/// A read replica in this instance's region (READ_REPLICA_URL_&lt;FLY_REGION&gt;, else
/// READ_REPLICA_URL): reads go to it, writes to the primary, and a writer reads its own write.
///
/// Read-your-writes. A write statement tells the instance its transaction id (a notice,
/// migration 0008, caught by <see cref="Db.Write"/>). Before the answer leaves, the instance
/// waits until the replica has replayed that transaction's commit (<see cref="AwaitAsync"/>), at
/// most REPLICA_WAIT_MS. So when a write returns, every read through an instance of this region
/// (they share the replica) sees it.
///
/// Why the test is exact on a hot standby. Replaying a commit record marks the transaction
/// committed in pg_xact first and only then takes it out of the standby's list of running
/// transactions (KnownAssignedXids), which is what a new snapshot consults; and the standby's
/// snapshots do not show that list (pg_current_snapshot lists nothing in progress there, so
/// pg_visible_in_snapshot said yes to a transaction still waiting on a lock: issue #30). So:
/// (1) once pg_xact_status says the transaction finished, its commit record is being replayed
/// or was; the standby replays only WAL it has received and flushed, so (2) the end of the
/// received WAL, read after that, is at or past the record's end; and (3) once the end of the
/// last record replayed in full is at or past that position, the commit record was replayed in
/// full, the transaction left the running list, and every snapshot taken from then on sees it.
/// Migration 0012's replica_progress() reads the three in that order, for every waiting write at
/// once, in one short statement every millisecond: nothing holds a snapshot while it waits, so
/// replay never waits for the writes that wait for replay.
///
/// Faults. Reads go to the primary while the replica is down (a read that fails on it runs
/// again on the primary), lags more than REPLICA_MAX_LAG_MS behind the primary, or let a write's
/// wait time out. Then writes do not wait. A check every second brings it back in two steps:
/// joining, where reads still go to the primary but writes wait for the replica again, and
/// serving, once it has replayed all the primary had written when joining began, which covers
/// every write answered before. No replica fault is a client's error.
/// </summary>
internal sealed class Replica
{
    public enum Health { Starting, Joining, Serving, Lagging, Down }

    static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);
    static readonly TimeSpan CheckWhileJoining = TimeSpan.FromMilliseconds(5);
    static readonly TimeSpan PollEvery = TimeSpan.FromMilliseconds(1);
    static readonly TimeSpan CheckWhileActive = TimeSpan.FromMinutes(1);  // then the checks stop until a request
    const int PrimaryPositionsKept = 128;

    sealed class Waiter
    {
        public long Target = -1;  // the received WAL's end once the transaction finished; replayed past it, it is visible
        public readonly TaskCompletionSource<bool> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);  // true: replayed; false: let go
    }

    readonly record struct Progress(bool[] Finished, long? Received, long? Replayed);

    readonly string url;
    readonly Settings settings;
    readonly ILogger log;
    readonly NpgsqlDataSource primary;
    volatile NpgsqlDataSource source;
    volatile Health health = Health.Starting;

    readonly Lock gate = new();
    readonly Dictionary<long, Waiter> waiters = [];  // under gate
    readonly Queue<(long At, long Position)> primaryPositions = new();  // under gate: what the primary had written, and when
    bool polling;  // under gate
    readonly SemaphoreSlim pollNow = new(0);  // a new write to ask about: the poller need not finish its pause
    long joinTarget = -1;  // under gate: the primary's position read after joining began
    long lastActivity = Environment.TickCount64;
    int checking;

    public Replica(string url, Settings settings, ILogger log)
    {
        this.url = url;
        this.settings = settings;
        this.log = log;
        source = Create(prepare: false);
        primary = Database.CreateDataSource(settings.DatabaseUrl, name: "replica-check", adjust: connection => connection.MaxPoolSize = 1);
        Metrics.Meter.CreateObservableGauge("blog.replica.lag", () => Lag.TotalSeconds, unit: "s", description: "How far the read replica was behind the primary at its last check");
        Metrics.Meter.CreateObservableGauge("blog.replica.serving", () => health == Health.Serving ? 1 : 0, description: "1 while reads go to the read replica");
    }

    /// <summary>Where reads go now, and why: the replica only while it is serving.</summary>
    public Health State => health;

    /// <summary>
    /// How far behind the primary the replica was at the last check: the age of the oldest WAL
    /// the primary had written (as seen by the checks) that the replica had not replayed; 0 when
    /// it had all of it, however long ago the last write was.
    /// </summary>
    public TimeSpan Lag { get; private set; }

    /// <summary>Called when the state leaves Serving: an edge cache filled from the replica must forget.</summary>
    public event Action? StoppedServing;

    NpgsqlDataSource Create(bool prepare) => Database.CreateDataSource(url, Database.RequestCommandTimeout, prepare: prepare, name: "replica", poolSize: settings.DatabasePoolSize, adjust: connection =>
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
    /// Waits until the replica has replayed transaction <paramref name="xid"/>, at most
    /// REPLICA_WAIT_MS; when it does not, reads go to the primary until it has caught up. Returns
    /// at once while reads go to the primary: the replica serves again only once it has all the
    /// primary had when it began to join, this write included. Returns whether the replica has it
    /// now, which the other instances of the region are told (Caching/RegionPeers): those that
    /// read from it wait for it too, at most <paramref name="wait"/>, before the writer answers.
    /// </summary>
    public async Task<bool> AwaitAsync(long xid, TimeSpan? wait = null)
    {
        Waiter? waiter;
        lock (gate)
        {
            if (health is not (Health.Serving or Health.Joining)) return false;
            if (!waiters.TryGetValue(xid, out waiter)) waiters[xid] = waiter = new Waiter();
            if (!polling)
            {
                polling = true;
                Background.Start(PollAsync);
            }
            else if (pollNow.CurrentCount == 0) pollNow.Release();
        }
        var started = Stopwatch.GetTimestamp();
        string outcome;
        try
        {
            outcome = await waiter.Done.Task.WaitAsync(wait ?? settings.ReplicaWait) ? "replayed" : "released";
        }
        catch (TimeoutException)
        {
            outcome = "timed_out";
            Leave(Health.Lagging, $"it did not replay a write within {(wait ?? settings.ReplicaWait).TotalMilliseconds} ms");
        }
        Metrics.ReplicaWaits.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
        return outcome == "replayed";
    }

    /// <summary>Asks the replica about every waiting write at once, every millisecond (at once for a new one), until none waits.</summary>
    async Task PollAsync()
    {
        while (true)
        {
            long[] xids;
            lock (gate)
            {
                if (waiters.Count == 0)
                {
                    polling = false;
                    return;
                }
                xids = [.. waiters.Keys];
            }
            Progress progress;
            try
            {
                progress = await ProgressAsync(xids);
            }
            catch (Exception e) when (IsFault(e))
            {
                Leave(Health.Down, e.Message);  // lets every waiting write go
                continue;
            }
            lock (gate)
            {
                for (var i = 0; i < xids.Length; i++)
                {
                    if (!waiters.TryGetValue(xids[i], out var waiter)) continue;
                    if (waiter.Target < 0 && progress.Finished[i] && progress.Received is { } received) waiter.Target = received;
                    if (waiter.Target >= 0 && progress.Replayed >= waiter.Target)
                    {
                        waiters.Remove(xids[i]);
                        waiter.Done.TrySetResult(true);
                    }
                }
            }
            await pollNow.WaitAsync(PollEvery);
        }
    }

    async Task<Progress> ProgressAsync(long[] xids)
    {
        await using var connection = await source.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT finished, received, replayed FROM replica_progress($1)", connection)
        {
            Parameters = { new() { Value = xids } },
            CommandTimeout = Database.CommandTimeout,
        };
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Progress(
            reader.GetFieldValue<bool[]>(0),
            reader.IsDBNull(1) ? null : reader.GetInt64(1),
            reader.IsDBNull(2) ? null : reader.GetInt64(2));
    }

    static bool IsFault(Exception e) => e is NpgsqlException or TimeoutException or InvalidOperationException or FormatException;

    void Leave(Health to, string why)
    {
        if (!MoveTo(to)) return;
        log.LogWarning("Reads go to the primary: the read replica is {State} ({Why}).", to == Health.Down ? "down" : "lagging", why);
        StoppedServing?.Invoke();
    }

    /// <summary>Moves to a state where reads go to the primary; returns whether it was serving.</summary>
    bool MoveTo(Health to)
    {
        lock (gate)
        {
            var stopped = health == Health.Serving;
            health = to;
            // Reads go to the primary now: no write needs to wait for the replica.
            foreach (var waiter in waiters.Values) waiter.Done.TrySetResult(false);
            waiters.Clear();
            return stopped;
        }
    }

    /// <summary>
    /// The process was frozen (Hosting/Freezes): the connections may be dead and what the last
    /// checks saw is old. Reads go to the primary until the checks have seen the replica again.
    /// </summary>
    public void Thawed()
    {
        lock (gate) primaryPositions.Clear();
        if (MoveTo(Health.Starting)) StoppedServing?.Invoke();
        source.Clear();
        primary.Clear();
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
                await Task.Delay(health == Health.Joining ? CheckWhileJoining : CheckEvery);
            }
        }
        finally
        {
            Volatile.Write(ref checking, 0);
        }
    }

    /// <summary>
    /// Reads what the primary has written, then how far the replica has replayed, and moves the
    /// state: serving → lagging past REPLICA_MAX_LAG_MS; not serving → joining once the replica
    /// has all the primary had when the check began; joining → serving once it has what the
    /// primary had written after joining began (this check's read of the primary, when joining
    /// began in an earlier one).
    /// </summary>
    async Task CheckAsync()
    {
        var written = await PrimaryPositionAsync();
        Progress progress;
        try
        {
            progress = await ProgressAsync([]);
        }
        catch (Exception e) when (IsFault(e))
        {
            Leave(Health.Down, e.Message);
            return;
        }
        string? leave = null;
        lock (gate)
        {
            if (written is { } position)
            {
                primaryPositions.Enqueue(position);
                if (primaryPositions.Count > PrimaryPositionsKept) primaryPositions.Dequeue();
            }
            Lag = LagAt(progress.Replayed);
            var withinLag = progress.Replayed is not null && Lag <= settings.ReplicaMaxLag;
            switch (health)
            {
                case Health.Serving or Health.Joining when !withinLag:
                    leave = progress.Replayed is null ? "it replays no WAL: not a standby" : $"{Lag.TotalSeconds:F1} s behind";
                    break;
                case Health.Joining:
                    if (joinTarget < 0 && written is { } joined) joinTarget = joined.Position;
                    if (joinTarget >= 0 && progress.Replayed >= joinTarget)
                    {
                        health = Health.Serving;
                        log.LogInformation("Reads go to the read replica ({Lag:F3} s behind).", Lag.TotalSeconds);
                    }
                    break;
                // Caught up: it has replayed all the primary had flushed when this check began. A
                // replica still behind (replay paused, say) does not join: writes would wait for
                // it again, each for REPLICA_WAIT_MS, and leave again.
                case Health.Starting or Health.Lagging or Health.Down when progress.Replayed >= written?.Position:
                    health = Health.Joining;
                    joinTarget = -1;
                    break;
            }
        }
        if (leave is not null) Leave(Health.Lagging, leave);
    }

    // Under gate: the age of the oldest position the primary had written that the replica has not replayed.
    TimeSpan LagAt(long? replayed)
    {
        while (primaryPositions.Count > 1 && primaryPositions.Peek().Position <= replayed) primaryPositions.Dequeue();
        if (!primaryPositions.TryPeek(out var oldest) || oldest.Position <= replayed) return TimeSpan.Zero;
        return TimeSpan.FromMilliseconds(Environment.TickCount64 - oldest.At);
    }

    /// <summary>
    /// The end of the WAL the primary has flushed, and when it was asked (before the question
    /// left); null when the primary does not answer. Every write answered before that moment
    /// is within it: a commit is flushed before its answer.
    /// </summary>
    async Task<(long At, long Position)?> PrimaryPositionAsync()
    {
        var at = Environment.TickCount64;
        try
        {
            await using var command = primary.CreateCommand("SELECT (pg_current_wal_flush_lsn() - '0/0')::bigint");
            return (at, (long)(await command.ExecuteScalarAsync())!);
        }
        catch (Exception e) when (IsFault(e))
        {
            return null;
        }
    }
}
