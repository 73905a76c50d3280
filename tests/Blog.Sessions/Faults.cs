using System.Diagnostics;
using System.Text.Json;
using Npgsql;

namespace Blog.Sessions;

/// <summary>
/// Replica faults at random moments and for random spells, one at a time, on a pair made by
/// scripts/replica-pair: replay paused and resumed, and the standby stopped and started again, in turn.
/// </summary>
public sealed class ReplicaFaults(string pairFolder, string script, int? seed = null)
{
    readonly Random random = seed is { } s ? new Random(s) : new Random();

    public int Pauses { get; private set; }
    public int Stops { get; private set; }

    string Replica
    {
        get
        {
            using var ports = JsonDocument.Parse(File.ReadAllText(Path.Combine(pairFolder, "ports.json")));
            return $"Host=127.0.0.1;Port={ports.RootElement.GetProperty("replica").GetInt32()};Username=postgres;Database=postgres;Pooling=false";
        }
    }

    public async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(random.Next(300, 2000), stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            var hold = TimeSpan.FromMilliseconds(random.Next(200, 1500));
            if (Pauses <= Stops)
            {
                await ReplayAsync("pause");
                Pauses++;
                await Task.Delay(hold, CancellationToken.None);
                await ReplayAsync("resume");
            }
            else
            {
                await StandbyAsync("stop");
                Stops++;
                await Task.Delay(hold, CancellationToken.None);
                await StandbyAsync("start");
            }
        }
    }

    async Task ReplayAsync(string action)
    {
        await using var connection = new NpgsqlConnection(Replica);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT pg_wal_replay_{action}()", connection);
        await command.ExecuteNonQueryAsync();
    }

    async Task StandbyAsync(string action)
    {
        var info = new ProcessStartInfo("python3") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { script, "replica", pairFolder, action }) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var output = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"replica-pair replica {action}: {await output}");
    }
}
