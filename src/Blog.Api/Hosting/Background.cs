namespace Blog.Api.Hosting;

/// <summary>
/// Starts a loop that outlives the request that wakes it (the cache's listener, the replica
/// checks) without that request's execution context: else the loop would carry the request's
/// HttpContext and trace (Activity.Current) for minutes, and every ping would show in traces
/// as part of a request long finished.
/// </summary>
internal static class Background
{
    public static void Start(Func<Task> loop)
    {
        using (ExecutionContext.SuppressFlow()) _ = Task.Run(loop);
    }
}
