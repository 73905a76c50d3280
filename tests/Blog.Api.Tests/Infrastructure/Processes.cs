using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Blog.Api.Tests.Infrastructure;

public static class Processes
{
    public static bool IsRoot { get; } = Environment.UserName == "root";

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs a command to completion; throws with its output when it fails.</summary>
    public static async Task<string> RunAsync(params string[] command)
    {
        var (exitCode, stdout, stderr) = await RunCapturedAsync(command);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"`{string.Join(' ', command)}` exited with {exitCode}:\n{stdout}\n{stderr}");
        }
        return stdout;
    }

    /// <summary>Runs a command to completion; its exit code and its output and errors together.</summary>
    public static async Task<(int ExitCode, string Output)> RunWithExitCodeAsync(params string[] command)
    {
        var (exitCode, stdout, stderr) = await RunCapturedAsync(command);
        return (exitCode, stdout + stderr);
    }

    static async Task<(int ExitCode, string Stdout, string Stderr)> RunCapturedAsync(string[] command)
    {
        var info = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in command.Skip(1)) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>
    /// The CPU time a process has used so far, all its threads, in nanoseconds as the scheduler
    /// counts it (/proc/PID/task/*/schedstat; the clock ticks of /proc/PID/stat are 10 ms).
    /// </summary>
    public static TimeSpan CpuTime(int pid)
    {
        long nanoseconds = 0;
        foreach (var task in Directory.GetDirectories($"/proc/{pid}/task"))
        {
            try
            {
                nanoseconds += long.Parse(File.ReadAllText(Path.Combine(task, "schedstat")).Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
            catch (IOException)
            {
                // the thread ended meanwhile
            }
        }
        return TimeSpan.FromTicks(nanoseconds / 100);
    }
}
