namespace Blog.Api.Infrastructure;

/// <summary>
/// Gives memory back to the operating system when the service goes quiet, the way Java's G1
/// does on idle (JEP 346). Start-up allocates ~12 MB, most of it garbage, and a burst of
/// traffic grows the heap; with no allocations there is no collection, so that memory would
/// stay committed for as long as the machine idles. Every two seconds this looks at how much
/// was allocated: after a quiet interval that follows real work it runs one compacting
/// collection (about 10 ms) that decommits what is free. Nothing runs per request, and under
/// steady traffic the service is never quiet, so it never collects.
/// </summary>
public sealed class IdleMemory : BackgroundService
{
    static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);
    const long QuietBytes = 256 * 1024;        // an idle interval allocates far less (timers, health checks)
    const long WorthBytes = 4 * 1024 * 1024;   // allocated since the last trim before another one pays

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        long trimmedAt = 0, previous = GC.GetTotalAllocatedBytes();
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            var now = GC.GetTotalAllocatedBytes();
            if (now - previous < QuietBytes && now - trimmedAt >= WorthBytes)
            {
                GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
                trimmedAt = now;
            }
            previous = GC.GetTotalAllocatedBytes();
        }
    }
}
