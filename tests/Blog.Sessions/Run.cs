namespace Blog.Sessions;

/// <summary>One run: the workload for a while, faults beside it if given, then the checker.</summary>
public static class Run
{
    public static async Task<(Report Report, ReplicaFaults? Faults)> ExecuteAsync(Uri service, int writers, TimeSpan duration, ReplicaFaults? faults = null)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = writers * 2 }) { BaseAddress = service, Timeout = TimeSpan.FromSeconds(30) };
        var history = new History();
        using var stop = new CancellationTokenSource(duration);
        var faulting = faults?.RunAsync(stop.Token) ?? Task.CompletedTask;
        await new Workload(http, history).RunAsync(writers, stop.Token);
        await faulting;  // the last fault ends with the replica back
        return (history.Check(), faults);
    }
}
