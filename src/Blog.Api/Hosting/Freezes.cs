namespace Blog.Api.Hosting;

/// <summary>
/// Notices that the process was frozen and has just been thawed: Fly's suspend (a memory
/// snapshot resumed minutes later, fly.toml auto_stop_machines = "suspend"), or SIGSTOP. Time
/// moved on while nothing ran, so the database connections the process holds may be dead
/// without a word (a NAT or the database forgot them; no reset ever comes), and a request
/// that took one would wait for its deadline. A tick every half second marks that the process
/// runs; a gap of more than 2 s on either clock (a suspended VM's monotonic clock may not
/// move, its wall clock does once synced) means it did not. The first request after a thaw
/// finds the gap before it takes a connection (<see cref="Check"/>, in Db), and
/// <see cref="Thawed"/> runs first: the pools are emptied, the cache's listener and the
/// replica's checks start over. Requests that find the gap meanwhile wait for that; the rest
/// read two clocks.
/// </summary>
internal sealed class Freezes : IDisposable
{
    const long ThresholdMs = 2000;
    readonly Lock thawing = new();
    readonly Timer ticker;
    long lastMonotonic = Environment.TickCount64;
    long lastWall = WallMs;

    public Freezes() => ticker = new Timer(_ => Tick(), null, 500, 500);

    static long WallMs => DateTime.UtcNow.Ticks / TimeSpan.TicksPerMillisecond;

    /// <summary>Runs once after each thaw, with how long the process was frozen, before any request that noticed it goes on.</summary>
    public event Action<TimeSpan>? Thawed;

    /// <summary>Whether the process was frozen since the last tick; if so, runs <see cref="Thawed"/> first.</summary>
    public void Check()
    {
        if (Gap() is null) return;
        lock (thawing)
        {
            if (Gap() is not { } gap) return;  // another caller thawed while this one waited
            Thawed?.Invoke(gap);
            Mark();
        }
    }

    TimeSpan? Gap()
    {
        var gap = Math.Max(Environment.TickCount64 - Volatile.Read(ref lastMonotonic), WallMs - Volatile.Read(ref lastWall));
        return gap > ThresholdMs ? TimeSpan.FromMilliseconds(gap) : null;
    }

    void Mark()
    {
        Volatile.Write(ref lastMonotonic, Environment.TickCount64);
        Volatile.Write(ref lastWall, WallMs);
    }

    // The ticker notices a thaw as a request would, then marks that the process runs (under the
    // lock, so that no mark moves while a thaw's handlers run).
    void Tick()
    {
        Check();
        lock (thawing) Mark();
    }

    public void Dispose() => ticker.Dispose();
}
