namespace Blog.Sessions;

/// <summary>
/// One run: the workload for a while, faults beside it if given, then the checker. With several
/// instances of the service (one region's machines), each request goes to one of them at random,
/// as Fly's proxy spreads a client's requests.
/// </summary>
public static class Run
{
    public static Task<(Report Report, ReplicaFaults? Faults)> ExecuteAsync(Uri service, int writers, TimeSpan duration, ReplicaFaults? faults = null) =>
        ExecuteAsync([service], writers, duration, faults);

    public static async Task<(Report Report, ReplicaFaults? Faults)> ExecuteAsync(IReadOnlyList<Uri> services, int writers, TimeSpan duration, ReplicaFaults? faults = null)
    {
        var clients = services.Select(service => new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = writers * 2 }) { BaseAddress = service, Timeout = TimeSpan.FromSeconds(30) }).ToList();
        var history = new History();
        using var stop = new CancellationTokenSource(duration);
        var faulting = faults?.RunAsync(stop.Token) ?? Task.CompletedTask;
        try
        {
            await new Workload(clients, history).RunAsync(writers, stop.Token);
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
        await faulting;  // the last fault ends with the replica back
        return (history.Check(), faults);
    }
}
