using Blog.Api.Tests.Infrastructure;
using Blog.Sessions;
using Xunit.Abstractions;

namespace Blog.Api.Tests.Replicas;

/// <summary>
/// Read-your-writes and monotonic reads for eight users writing at once through the binary, with
/// the replica near and the primary far (scripts/replica-pair), the edge cache on: first without
/// faults, then with replay paused and resumed and the standby stopped and started at random
/// moments. Every request is recorded and the history checked (tests/Blog.Sessions).
/// </summary>
public sealed class SessionGuaranteesTests(ReplicaAotApi api, ITestOutputHelper output) : IClassFixture<ReplicaAotApi>
{
    const int Writers = 8;

    [Fact]
    public async Task Concurrent_writers_read_their_writes_monotonically_without_faults_and_with_replica_faults()
    {
        var service = api.Client.BaseAddress!;
        var logBefore = api.Process!.Output.Count;
        var (calm, _) = await Run.ExecuteAsync(service, Writers, TimeSpan.FromSeconds(6));
        output.WriteLine($"without faults: {calm}");
        var waitsMissed = api.Process.Output.Skip(logBefore).Count(line => line.Contains("did not replay a write", StringComparison.Ordinal));

        var (faulted, faults) = await Run.ExecuteAsync(service, Writers, TimeSpan.FromSeconds(15), new ReplicaFaults(api.Pair.Folder, ReplicaPair.Script));
        output.WriteLine($"with {faults!.Pauses} replay pauses and {faults.Stops} standby stops: {faulted}");

        foreach (var report in new[] { calm, faulted }) AssertHeld(report, readsAtLeast: 500);
        Assert.True(faults.Pauses + faults.Stops > 0, "no fault was injected");
        Assert.Equal(0, waitsMissed);  // without faults, no write waits out REPLICA_WAIT_MS
    }

    /// <summary>
    /// The same guarantees across two instances of one region, as Fly's proxy spreads a user's
    /// requests over the region's machines: each request goes to one of them at random. Both
    /// share the replica and hear the change feed; each pushes its writes to the other before
    /// answering (region peers), so that a read on either shows every write its user was answered.
    /// </summary>
    [Fact]
    public async Task Concurrent_writers_read_their_writes_monotonically_across_two_instances_of_a_region()
    {
        var (peerA, peerB) = (Processes.FreePort(), Processes.FreePort());
        var peers = $"127.0.0.1:{peerA},127.0.0.1:{peerB}";
        await using var a = await ServiceProcess.StartHealthyAsync(Instance(peerA));
        await using var b = await ServiceProcess.StartHealthyAsync(Instance(peerB));
        Dictionary<string, string?> Instance(int peerPort)
        {
            var environment = api.Environment;
            environment["PORT"] = $"{Processes.FreePort()}";
            (environment["PEER_PORT"], environment["PEERS"]) = ($"{peerPort}", peers);
            return environment;
        }
        Uri[] services = [a.Client.BaseAddress!, b.Client.BaseAddress!];

        var (calm, _) = await Run.ExecuteAsync(services, Writers, TimeSpan.FromSeconds(6));
        output.WriteLine($"two instances, without faults: {calm}");
        var (faulted, faults) = await Run.ExecuteAsync(services, Writers, TimeSpan.FromSeconds(12), new ReplicaFaults(api.Pair.Folder, ReplicaPair.Script));
        output.WriteLine($"two instances, with {faults!.Pauses} replay pauses and {faults.Stops} standby stops: {faulted}");

        foreach (var report in new[] { calm, faulted }) AssertHeld(report, readsAtLeast: 300);
        Assert.True(faults.Pauses + faults.Stops > 0, "no fault was injected");
    }

    /// <summary>No violation, error or 404 in a run that checked more than <paramref name="readsAtLeast"/> reads.</summary>
    static void AssertHeld(Report report, int readsAtLeast)
    {
        Assert.True(report.Violations.Count == 0, report.ToString());
        Assert.Equal(0, report.Errors);
        Assert.Equal(0, report.NotFound);
        Assert.True(report.ReadsChecked > readsAtLeast, report.ToString());
    }
}
