namespace Blog.Api.Hosting;

/// <summary>
/// Memory given back to the operating system. Start-up allocates ~12 MB, most of it garbage;
/// with no allocations there is no collection, so that memory would stay committed for as long
/// as the machine idles. So one compacting collection runs at start, before the port opens,
/// where no request can wait for it (<see cref="CollectStartupGarbage"/>).
///
/// After that, by default, nothing: a burst of traffic grows the heap and the machine keeps it
/// while it idles (Fly bills by machine size, and auto-stop suspends idle machines anyway), so
/// that no request ever pays for a collection it did not cause. IDLE_MEMORY_TRIM=true also
/// gives memory back the way Java's G1 does on idle (JEP 346): every two seconds this looks at
/// the requests, and after an interval in which none started and none is running, and only when
/// real work (4 MB of allocations) happened since the last time, it runs one compacting
/// collection that decommits what is free. That collection blocks the process for a few
/// milliseconds, and a request arriving in exactly that moment waits for it: bench/idle_trim.py
/// measured the first request after a quiet spell at p99 42.6 ms with it and 7.8 ms without
/// (README, Performance). A background collection would not block, but it neither compacts nor
/// decommits: measured, it leaves idle RSS at 37 MB.
/// </summary>
internal sealed class IdleMemory(Settings settings, ILogger<IdleMemory> log) : BackgroundService
{
    static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    /// <summary>The one collection at start, of what building the app left behind.</summary>
    public static void CollectStartupGarbage() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    const long WorthBytes = 4 * 1024 * 1024;   // allocated since the last trim before another one pays

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!settings.IdleMemoryTrim) return;
        using var timer = new PeriodicTimer(Interval);
        long trimmedAt = 0, previous = InFlight.Started;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var now = InFlight.Started;
            if (now == previous && InFlight.Running == 0 && GC.GetTotalAllocatedBytes() - trimmedAt >= WorthBytes)
            {
                var (committed, paused) = (GC.GetGCMemoryInfo().TotalCommittedBytes, GC.GetTotalPauseDuration());
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                trimmedAt = GC.GetTotalAllocatedBytes();
                log.LogInformation("Idle: returned {Bytes} bytes of the heap to the system in a {PauseMs:F1} ms pause",
                    committed - GC.GetGCMemoryInfo().TotalCommittedBytes, (GC.GetTotalPauseDuration() - paused).TotalMilliseconds);
            }
            previous = now;
        }
    }
}
