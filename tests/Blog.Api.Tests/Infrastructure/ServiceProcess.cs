using System.Collections.Concurrent;
using System.Diagnostics;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>
/// The published AOT binary, run as a child process. Only this binary shows trimming and
/// AOT bugs, so the HTTP tests run against it as well as in-process.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    public const string BinaryVariable = "BLOG_API_BINARY";

    readonly Process process;
    readonly ConcurrentQueue<string> output = new();

    ServiceProcess(Process process)
    {
        this.process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>The binary: $BLOG_API_BINARY, or artifacts/aot/Blog.Api as scripts/test publishes it.</summary>
    public static string BinaryPath
    {
        get
        {
            var path = Environment.GetEnvironmentVariable(BinaryVariable) is { Length: > 0 } configured
                ? configured
                : Path.Combine(RepositoryRoot, "artifacts", "aot", "Blog.Api");
            return File.Exists(path) ? path : throw new FileNotFoundException(
                $"The published AOT binary is missing at {path}. Run scripts/test (it publishes first), or `dotnet publish src/Blog.Api -c Release -o artifacts/aot`, or set {BinaryVariable}.");
        }
    }

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Blog.sln"))) return dir.FullName;
            }
            throw new InvalidOperationException("Blog.sln not found above " + AppContext.BaseDirectory);
        }
    }

    public bool HasExited => process.HasExited;
    public int Id => process.Id;
    public int ExitCode => process.ExitCode;
    public IReadOnlyList<string> Output => [.. output];

    /// <summary>What the binary needs to run in production mode against a database.</summary>
    public static Dictionary<string, string?> EnvironmentFor(string databaseUrl, int? port = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["DATABASE_URL"] = databaseUrl,
            ["JWT_SECRET"] = ApiFixture.JwtSecret,
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
        };
        if (port is { } value) environment["PORT"] = value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return environment;
    }

    public static ServiceProcess Start(IReadOnlyDictionary<string, string?> environment, params string[] args) => Start(BinaryPath, environment, args);

    /// <summary>Starts <paramref name="binary"/> (another build of the service, e.g. the previous release).</summary>
    public static ServiceProcess Start(string binary, IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var info = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        // A clean slate: only what the test gives, plus what any process needs and the test run's
        // id (scripts/test stops the processes that carry it, and no others).
        foreach (var name in info.Environment.Keys.ToArray())
        {
            if (name is not ("PATH" or "HOME" or "TMPDIR" or "BLOG_TEST_RUN")) info.Environment.Remove(name);
        }
        foreach (var (name, value) in environment) info.Environment[name] = value;
        return new ServiceProcess(Process.Start(info)!);
    }

    /// <summary>
    /// Starts the service with <paramref name="environment"/> (which names its PORT) and waits
    /// until /health answers; <see cref="Client"/> then speaks to it.
    /// </summary>
    public static async Task<ServiceProcess> StartHealthyAsync(IReadOnlyDictionary<string, string?> environment, TimeSpan? requestTimeout = null, string? binary = null)
    {
        var service = Start(binary ?? BinaryPath, environment);
        service.Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{environment["PORT"]}") };
        if (requestTimeout is { } timeout) service.Client.Timeout = timeout;
        try
        {
            await service.WaitUntilHealthyAsync();
            return service;
        }
        catch
        {
            await service.DisposeAsync();
            throw;
        }
    }

    /// <summary>HTTP to the service; set by <see cref="StartHealthyAsync"/>.</summary>
    public HttpClient Client { get; private set; } = null!;

    async Task WaitUntilHealthyAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var response = await Client.GetAsync("/health");
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }
            await Task.Delay(20);
        }
        throw new InvalidOperationException("The binary did not become healthy:\n" + string.Join('\n', Output));
    }

    /// <summary>Runs a sub-command (e.g. migrate) to the end and returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        await using var run = Start(environment, args);
        await run.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (run.ExitCode, string.Join('\n', run.Output));
    }

    public async Task WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        process.WaitForExit(); // flushes the redirected output
    }

    /// <summary>SIGTERM, as Fly.io (and Kubernetes, and systemd) stop a machine.</summary>
    public Task TerminateAsync() => Processes.RunAsync("kill", "-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    bool disposed;

    public async ValueTask DisposeAsync()
    {
        if (disposed) return;
        disposed = true;
        Client?.Dispose();
        if (!process.HasExited)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }
}
