namespace Blog.Api.Hosting;

/// <summary>
/// The requests this process has started and the ones running now, counted by a middleware at
/// the front of the pipeline: the idle trim waits for a quiet spell (<see cref="IdleMemory"/>),
/// and a switch of connection pools opens as many connections as requests are running (Db).
/// </summary>
internal static class InFlight
{
    static long started;
    static int running;

    public static long Started => Interlocked.Read(ref started);

    public static int Running => Volatile.Read(ref running);

    public static async Task Count(HttpContext context, RequestDelegate next)
    {
        Interlocked.Increment(ref started);
        Interlocked.Increment(ref running);
        try
        {
            await next(context);
        }
        finally
        {
            Interlocked.Decrement(ref running);
        }
    }
}
