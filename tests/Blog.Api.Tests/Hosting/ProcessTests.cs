using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;
using Npgsql;

namespace Blog.Api.Tests.Hosting;

/// <summary>How the binary behaves as a process: configuration, logs, memory, shutdown.</summary>
public sealed class ProcessTests
{
    static async Task<Dictionary<string, string?>> EnvironmentAsync()
    {
        var (connectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("process");
        return ServiceProcess.EnvironmentFor(connectionString, Processes.FreePort());
    }

    [Theory]
    [InlineData("JWT_SECRET", null, "JWT_SECRET is not set")]
    [InlineData("JWT_SECRET", "too-short", "JWT_SECRET is too short")]
    [InlineData("DATABASE_URL", null, "DATABASE_URL is not set")]
    [InlineData("DATABASE_URL", "postgres://host/db?sslmode=maybe", "DATABASE_URL is invalid")]
    [InlineData("PORT", "http", "PORT is invalid")]
    [InlineData("ASPNETCORE_URLS", "https://127.0.0.1:5001", "ASPNETCORE_URLS is invalid")]
    [InlineData("ASPNETCORE_URLS", "http://example.com:5001", "ASPNETCORE_URLS is invalid")]
    public async Task Bad_configuration_stops_start_up_within_a_second_naming_the_variable(string variable, string? value, string message)
    {
        var environment = await EnvironmentAsync();
        if (value is null) environment.Remove(variable);
        else environment[variable] = value;

        var clock = Stopwatch.StartNew();
        await using var service = ServiceProcess.Start(environment);
        await service.WaitForExitAsync(TimeSpan.FromSeconds(5));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"took {clock.ElapsedMilliseconds} ms");
        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains(service.Output, line => line.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public async Task ASPNETCORE_URLS_wins_over_PORT_and_PORT_alone_is_every_interface()
    {
        var environment = await EnvironmentAsync();
        var (port, urlPort) = (int.Parse(environment["PORT"]!, System.Globalization.CultureInfo.InvariantCulture), Processes.FreePort());
        environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{urlPort}";

        await using (var service = ServiceProcess.Start(environment))
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{urlPort}") };
            await UntilHealthyAsync(client);
            using var onPort = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Assert.ThrowsAsync<HttpRequestException>(() => onPort.GetAsync("/health"));  // nothing listens on PORT
            Assert.Equal([$"http://127.0.0.1:{urlPort}"], ListeningOn(service));
        }

        environment.Remove("ASPNETCORE_URLS");
        await using var onEveryInterface = await ServiceProcess.StartHealthyAsync(environment);
        Assert.Equal([$"http://[::]:{port}"], ListeningOn(onEveryInterface));
    }

    static string[] ListeningOn(ServiceProcess service) =>
        [.. service.Output.Where(line => line.Contains("Now listening on", StringComparison.Ordinal))
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("State").GetProperty("address").GetString()!)];

    static async Task UntilHealthyAsync(HttpClient client)
    {
        for (var deadline = Stopwatch.StartNew(); ; await Task.Delay(20))
        {
            try
            {
                if ((await client.GetAsync("/health")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(15))
            {
            }
        }
    }

    [Fact]
    public async Task A_postgres_URL_works_as_DATABASE_URL()
    {
        var environment = await EnvironmentAsync();
        var keywords = new NpgsqlConnectionStringBuilder(environment["DATABASE_URL"]);
        environment["DATABASE_URL"] = $"postgres://{keywords.Username}:unused-password@{keywords.Host}:{keywords.Port}/{keywords.Database}?sslmode=disable&application_name=blog-test";
        await using var service = await ServiceProcess.StartHealthyAsync(environment);
        var client = service.Client;

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/articles")).StatusCode);
    }

    [Fact]
    public async Task Logs_are_one_JSON_object_per_line_and_carry_no_secrets()
    {
        var environment = await EnvironmentAsync();
        var keywords = new NpgsqlConnectionStringBuilder(environment["DATABASE_URL"]);
        const string databasePassword = "database-password-never-logged";
        environment["DATABASE_URL"] = $"postgres://{keywords.Username}:{databasePassword}@{keywords.Host}:{keywords.Port}/{keywords.Database}";
        environment["Logging__LogLevel__Default"] = "Debug";
        await using var service = await ServiceProcess.StartHealthyAsync(environment);
        var client = service.Client;

        const string password = "user-password-never-logged";
        var registered = await client.PostAsJsonAsync("/api/users", new { user = new { username = "logger", email = "logger@example.com", password } });
        var token = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("token").GetString()!;
        await client.PostAsJsonAsync("/api/users/login", new { user = new { email = "logger@example.com", password = password + "x" } });
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/user")) { request.Headers.Add("Authorization", "Token " + token); await client.SendAsync(request); }
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/user")) { request.Headers.Add("Authorization", "Token " + token + "tampered"); await client.SendAsync(request); }
        await client.GetAsync("/no/such/route");
        await service.TerminateAsync();
        await service.WaitForExitAsync(TimeSpan.FromSeconds(15));

        var lines = service.Output.Where(l => l.Length > 0).ToArray();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            using var entry = JsonDocument.Parse(line);  // throws on anything but one JSON object
            Assert.Equal(JsonValueKind.Object, entry.RootElement.ValueKind);
            Assert.True(entry.RootElement.TryGetProperty("LogLevel", out _), line);
            foreach (var secret in new[] { databasePassword, password, ApiFixture.JwtSecret, token })
            {
                Assert.DoesNotContain(secret, line);
            }
        }
    }

    [Fact]
    public async Task Runs_a_workstation_GC_and_watches_no_configuration_files()
    {
        var environment = await EnvironmentAsync();
        await using var service = await ServiceProcess.StartHealthyAsync(environment);

        // A server GC runs a thread per core and a file watcher its own thread; both are
        // memory an idle edge machine does not need (a misspelt MSBuild property once kept
        // the server GC on unnoticed).
        var threads = Directory.GetDirectories($"/proc/{service.Id}/task").Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim()).ToArray();
        Assert.Contains(".NET Finalizer", threads);
        Assert.DoesNotContain(threads, name => name.Contains("Server GC", StringComparison.Ordinal));
        Assert.DoesNotContain(threads, name => name.Contains("File Watch", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Gives_memory_back_once_idle_only_when_asked_to(bool trim)
    {
        var environment = await EnvironmentAsync();
        environment["Logging__LogLevel__Default"] = "Information";
        if (trim) environment["IDLE_MEMORY_TRIM"] = "true";
        await using var service = await ServiceProcess.StartHealthyAsync(environment);
        var client = service.Client;
        // A burst grows the heap with garbage; once the service is quiet for a few seconds,
        // IdleMemory (asked to) collects it and the heap's pages go back to the system.
        for (var i = 0; i < 300; i++) Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/articles?limit=100")).StatusCode);
        var busy = AnonymousKilobytes(service.Id);
        var idle = busy;
        for (var clock = Stopwatch.StartNew(); clock.Elapsed < TimeSpan.FromSeconds(trim ? 20 : 6) && idle > busy * 3 / 4; idle = AnonymousKilobytes(service.Id))
        {
            await Task.Delay(250);
        }
        var trims = service.Output.Count(line => line.Contains("Idle: returned", StringComparison.Ordinal));
        if (trim)
        {
            Assert.True(idle <= busy * 3 / 4, $"anonymous memory {busy} kB after the burst, {idle} kB once idle");
            Assert.True(trims >= 1);
        }
        else
        {
            Assert.Equal(0, trims);  // by default no collection runs while the service may be asked something
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/articles")).StatusCode);
    }

    static long AnonymousKilobytes(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").Single(line => line.StartsWith("RssAnon:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task SIGTERM_lets_in_flight_requests_finish_refuses_new_ones_and_exits_0()
    {
        var environment = await EnvironmentAsync();
        await using var service = await ServiceProcess.StartHealthyAsync(environment);
        var client = service.Client;
        var registered = await client.PostAsJsonAsync("/api/users", new { user = new { username = "slow", email = "slow@example.com", password = "long enough" } });
        var token = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("token").GetString()!;

        // Hold the user's row so the update below waits inside the service.
        await using var blocker = new NpgsqlConnection(environment["DATABASE_URL"]);
        await blocker.OpenAsync();
        await using var tx = await blocker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM users WHERE username = 'slow' FOR UPDATE", blocker, tx)) await lockRow.ExecuteNonQueryAsync();
        using var update = new HttpRequestMessage(HttpMethod.Put, "/api/user") { Content = JsonContent.Create(new { user = new { bio = "finished" } }) };
        update.Headers.Add("Authorization", "Token " + token);
        var inFlight = client.SendAsync(update);
        await Task.Delay(300);
        Assert.False(inFlight.IsCompleted, "the update should be waiting on the row lock");

        await service.TerminateAsync();
        await Task.Delay(500);
        using var fresh = new HttpClient { BaseAddress = client.BaseAddress };
        await Assert.ThrowsAsync<HttpRequestException>(() => fresh.GetAsync("/health"));
        Assert.False(service.HasExited, "the process waits for the in-flight request");

        await tx.RollbackAsync();
        using var response = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await service.WaitForExitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(0, service.ExitCode);
    }

    /// <summary>
    /// DATABASE_POOL_SIZE bounds the connections the binary opens, however many requests come
    /// at once: the others wait for a connection (Data/Database.cs says why), and all succeed.
    /// </summary>
    [Fact]
    public async Task A_burst_of_requests_opens_no_more_connections_than_the_pool_size()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("poolsize");
        var environment = ServiceProcess.EnvironmentFor(database, Processes.FreePort());
        environment["DATABASE_POOL_SIZE"] = "3";
        environment["PREPARED_STATEMENTS"] = "off";  // one pool all along (the switch to prepared opens a second)
        await using var service = await ServiceProcess.StartHealthyAsync(environment);
        var name = new NpgsqlConnectionStringBuilder(database).Database;

        var most = 0;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            while (!sampling.IsCancellationRequested)
            {
                await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", connection) { Parameters = { new() { Value = name } } };
                most = Math.Max(most, (int)(long)(await count.ExecuteScalarAsync())!);
            }
        });
        var statuses = await Task.WhenAll(Enumerable.Range(0, 64).Select(async i =>
        {
            using var reply = await service.Client.GetAsync(i % 2 == 0 ? "/api/articles" : "/api/tags");
            return reply.StatusCode;
        }));
        await sampling.CancelAsync();
        await sampler;

        Assert.All(statuses, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.InRange(most, 1, 3);
    }
}
