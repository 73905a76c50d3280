using OpenTelemetry;

namespace Blog.Api.Hosting;

/// <summary>
/// Starts work that outlives the request that wakes it (the cache's listener, the replica
/// checks, the prepared-statement probe) without that request's execution context: else it
/// would carry the request's HttpContext and trace for minutes, and every replica check would
/// show as part of a request long finished. Nor does the work trace on its own (a check every
/// second would be a trace every second): Hosting/Tracing shows requests and what they do.
/// </summary>
internal static class Background
{
    public static void Start(Func<Task> work)
    {
        using (ExecutionContext.SuppressFlow())
        {
            _ = Task.Run(async () =>
            {
                using var untraced = SuppressInstrumentationScope.Begin();
                await work();
            });
        }
    }
}
