using System.Text.Json;
using Npgsql;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>
/// A primary and a streaming hot standby (scripts/replica-pair), the primary and the WAL
/// stream behind proxies that add a delay each way: a far primary region and a near replica.
/// </summary>
public sealed class ReplicaPair : IAsyncDisposable
{
    readonly string folder;
    readonly JsonElement ports;

    ReplicaPair(string folder, JsonElement ports)
    {
        this.folder = folder;
        this.ports = ports;
    }

    public static string Script => Path.Combine(ServiceProcess.RepositoryRoot, "scripts", "replica-pair");

    /// <summary>Where both clusters live (ports.json names their ports).</summary>
    public string Folder => folder;

    public static async Task<ReplicaPair> StartAsync(int delayMs)
    {
        // Under /tmp: the `postgres` user, which runs the clusters as root, cannot enter root's home.
        var folder = Path.Combine("/tmp", $"blog-pair-{Guid.NewGuid():N}");
        var output = await Processes.RunAsync("python3", Script, "start", folder, delayMs.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var pair = new ReplicaPair(folder, JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.Clone());
        await using var connection = new NpgsqlConnection(pair.Primary("postgres"));
        await connection.OpenAsync();
        return pair;
    }

    string Url(int port, string database) => $"Host=127.0.0.1;Port={port};Username=postgres;Database={database}";

    /// <summary>The primary, near (for the tests' own statements and migrations).</summary>
    public string Primary(string database) => Url(ports.GetProperty("primary").GetInt32(), database);

    /// <summary>The primary behind the delay, as a far region sees it.</summary>
    public string FarPrimary(string database) => Url(ports.GetProperty("primary_far").GetInt32(), database);

    /// <summary>The standby, near.</summary>
    public string Replica(string database) => Url(ports.GetProperty("replica").GetInt32(), database);

    public Task StopReplicaAsync() => Processes.RunAsync("python3", Script, "replica", folder, "stop");

    public Task StartReplicaAsync() => Processes.RunAsync("python3", Script, "replica", folder, "start");

    public async ValueTask DisposeAsync() => await Processes.RunAsync("python3", Script, "stop", folder);
}
