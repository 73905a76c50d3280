using System.Diagnostics;
using Blog.Api.Data;
using Npgsql;
using Testcontainers.PostgreSql;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>
/// The one PostgreSQL server of a test run, taken in this order: a connection string from
/// BLOG_TEST_DATABASE_URL; a Testcontainers container when a Docker engine is reachable; a
/// throwaway cluster made with the machine's own initdb/pg_ctl. Each test class gets a fresh
/// database, copied from a template that was migrated once.
/// </summary>
public sealed class PostgresServer
{
    public const string UrlVariable = "BLOG_TEST_DATABASE_URL";

    /// <summary>
    /// 1 puts a real PgBouncer (transaction mode) between the service and PostgreSQL, the
    /// machine's own; a path, that PgBouncer binary (scripts/test builds 1.25, Neon's line).
    /// </summary>
    public const string PgBouncerVariable = "BLOG_TEST_PGBOUNCER";

    static readonly Lazy<Task<PostgresServer>> Shared = new(StartAsync);
    public static Task<PostgresServer> Instance => Shared.Value;

    readonly string admin;
    readonly string template = $"blog_template_{Environment.ProcessId}";
    readonly SemaphoreSlim copying = new(1, 1);

    PgBouncer? pgBouncer;

    PostgresServer(string adminConnectionString, string source)
    {
        admin = adminConnectionString;
        Source = source;
    }

    /// <summary>
    /// How the service under test reaches a database: directly, or through PgBouncer in
    /// transaction mode when BLOG_TEST_PGBOUNCER=1. Tests check results directly.
    /// </summary>
    public string ServiceConnectionString(string directConnectionString) =>
        pgBouncer is null ? directConnectionString : pgBouncer.Route(directConnectionString);

    public PgBouncer? PgBouncer => pgBouncer;

    /// <summary>Where the server came from: environment, testcontainers or local cluster.</summary>
    public string Source { get; }

    /// <summary>A connection string to the server's maintenance database.</summary>
    public string AdminConnectionString => admin;

    /// <summary>A new, migrated, empty database; returns its connection string and name.</summary>
    public async Task<(string ConnectionString, string Name)> CreateDatabaseAsync(string label)
    {
        var name = $"t_{new string(label.ToLowerInvariant().Where(char.IsAsciiLetterOrDigit).Take(30).ToArray())}_{Guid.NewGuid():N}"[..^8];
        // CREATE DATABASE … TEMPLATE fails while another copy of the same template runs.
        await copying.WaitAsync();
        try
        {
            await ExecuteAsync(admin, $"""CREATE DATABASE "{name}" TEMPLATE "{template}" """);
            // A copy does not take the template's own settings (ALTER DATABASE … SET, made by
            // migrations); a migrated database has them, so the copy gets them too.
            await ExecuteAsync(admin, $"""
                DO $$
                DECLARE setting text;
                BEGIN
                    FOR setting IN SELECT unnest(setconfig) FROM pg_db_role_setting
                                   WHERE setrole = 0 AND setdatabase = (SELECT oid FROM pg_database WHERE datname = '{template}')
                    LOOP
                        EXECUTE format('ALTER DATABASE %I SET %s = %L', '{name}', split_part(setting, '=', 1), substr(setting, strpos(setting, '=') + 1));
                    END LOOP;
                END
                $$
                """);
        }
        finally
        {
            copying.Release();
        }
        return (new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString, name);
    }

    /// <summary>An empty database with no schema at all, for the migrate tests.</summary>
    public async Task<string> CreateEmptyDatabaseAsync()
    {
        var name = $"t_empty_{Guid.NewGuid():N}";
        await ExecuteAsync(admin, $"""CREATE DATABASE "{name}" """);
        return new NpgsqlConnectionStringBuilder(admin) { Database = name }.ConnectionString;
    }

    static async Task<PostgresServer> StartAsync()
    {
        PostgresServer server;
        if (Environment.GetEnvironmentVariable(UrlVariable) is { Length: > 0 } url)
        {
            server = new PostgresServer(DatabaseUrl.ToConnectionString(url), "environment");
        }
        else if (await TryTestcontainersAsync() is { } container)
        {
            server = container;
        }
        else
        {
            var cluster = await LocalCluster.StartAsync();
            server = new PostgresServer(cluster.ConnectionString, $"local cluster ({cluster.Directory})");
        }

        if (Environment.GetEnvironmentVariable(PgBouncerVariable) is { Length: > 0 } pgBouncer) server.pgBouncer = await PgBouncer.StartAsync(server.admin, pgBouncer);

        await ExecuteAsync(server.admin, $"""DROP DATABASE IF EXISTS "{server.template}" """);
        await ExecuteAsync(server.admin, $"""CREATE DATABASE "{server.template}" """);
        var templateConnection = new NpgsqlConnectionStringBuilder(server.admin) { Database = server.template, Pooling = false }.ConnectionString;
        await using (var db = NpgsqlDataSource.Create(templateConnection))
        {
            await Migrations.ApplyAsync(db);
        }
        return server;
    }

    static async Task<PostgresServer?> TryTestcontainersAsync()
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        if (string.IsNullOrEmpty(dockerHost) && !File.Exists("/var/run/docker.sock")) return null;
        try
        {
            var container = new PostgreSqlBuilder("postgres:17-alpine")
                .WithCommand("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=400")
                .Build();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await container.StartAsync(timeout.Token);
            var admin = new NpgsqlConnectionStringBuilder(container.GetConnectionString()) { Database = "postgres" }.ConnectionString;
            return new PostgresServer(admin, "testcontainers");
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"Testcontainers could not start PostgreSQL ({e.GetType().Name}: {e.Message}); using a local cluster.");
            return null;
        }
    }

    static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }
}

/// <summary>A PostgreSQL cluster in a temporary folder, removed when the test run ends.</summary>
public sealed class LocalCluster
{
    LocalCluster(string directory, string bin, int port)
    {
        Directory = directory;
        Bin = bin;
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Include Error Detail=true";
    }

    public string Directory { get; }
    public string Bin { get; }
    public string ConnectionString { get; }
    string Data => Path.Combine(Directory, "data");

    public static async Task<LocalCluster> StartAsync()
    {
        var bin = FindBinaries() ?? throw new InvalidOperationException(
            $"No Docker engine and no PostgreSQL server binaries (initdb, pg_ctl) were found. Install PostgreSQL (scripts/test does: apt-get install -y postgresql) or set {PostgresServer.UrlVariable}.");

        // Under /tmp, not in the checkout: as root the cluster runs as `postgres`, who cannot
        // enter root's home.
        var directory = System.IO.Directory.CreateTempSubdirectory("blog-tests-").FullName;
        if (Processes.IsRoot) await Processes.RunAsync("chown", "postgres:postgres", directory);

        var cluster = new LocalCluster(directory, bin, Processes.FreePort());
        var port = new NpgsqlConnectionStringBuilder(cluster.ConnectionString).Port;
        await Processes.RunAsync(AsOwner(Path.Combine(bin, "initdb"), "-D", cluster.Data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"));
        await Processes.RunAsync(AsOwner(Path.Combine(bin, "pg_ctl"), "-D", cluster.Data, "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60",
            "-o", $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400",
            "start"));
        cluster.RemoveWhenProcessEnds();
        return cluster;
    }

    /// <summary>
    /// A detached watchdog stops the server and deletes the folder once this test process is
    /// gone, however it ends: ProcessExit handlers do not get to finish under the test runner.
    /// </summary>
    void RemoveWhenProcessEnds()
    {
        var stop = string.Join(' ', AsOwner(Path.Combine(Bin, "pg_ctl"), "-D", Data, "-m", "immediate", "-w", "stop"));
        var script = $"exec </dev/null >/dev/null 2>&1; while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 0.5; done; {stop}; rm -rf '{Directory}'";
        var info = new ProcessStartInfo("setsid", ["sh", "-c", script])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        Process.Start(info)!.Dispose();
    }

    static string[] AsOwner(params string[] command) =>
        Processes.IsRoot ? ["runuser", "-u", "postgres", "--", .. command] : command;

    static string? FindBinaries()
    {
        var debian = System.IO.Directory.Exists("/usr/lib/postgresql")
            ? System.IO.Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return debian ?? (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")));
    }
}

/// <summary>
/// A real PgBouncer in transaction mode, the way Neon's pooled endpoint runs, in front of the
/// test server. Any database name is passed through to the server. From 1.21 on it keeps
/// prepared statements (max_prepared_statements, as Neon sets it); an older one cannot.
/// </summary>
public sealed class PgBouncer
{
    readonly int port;

    PgBouncer(int port, Version version)
    {
        this.port = port;
        Version = version;
    }

    public int Port => port;
    public Version Version { get; }
    public bool TracksPreparedStatements => Version >= new Version(1, 21);

    /// <summary>Runs a command on PgBouncer's admin console and returns its rows, by column name.</summary>
    public async Task<Dictionary<string, string>[]> AdminAsync(string command)
    {
        var output = await Processes.RunAsync("psql", "-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-U", "postgres", "-d", "pgbouncer", "-A", "-F", "|", "--pset", "footer=off", "-c", command);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var names = lines[0].Split('|');
        return [.. lines.Skip(1).Select(line => names.Zip(line.Split('|')).ToDictionary(pair => pair.First, pair => pair.Second))];
    }

    public string Route(string directConnectionString) =>
        new Npgsql.NpgsqlConnectionStringBuilder(directConnectionString) { Host = "127.0.0.1", Port = port }.ConnectionString;

    /// <summary>Starts <paramref name="which"/> ("1": the machine's own PgBouncer, or a path), with extra settings.</summary>
    public static async Task<PgBouncer> StartAsync(string adminConnectionString, string which, string extraSettings = "")
    {
        var binary = which != "1" ? which : new[] { "/usr/sbin/pgbouncer", "/usr/bin/pgbouncer", "/opt/homebrew/bin/pgbouncer", "/usr/local/bin/pgbouncer" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("pgbouncer is not installed (scripts/test installs it: apt-get install -y pgbouncer).");
        var version = Version.Parse((await Processes.RunAsync(binary, "--version")).Split('\n')[0].Split(' ')[1]);
        var preparedStatements = version >= new Version(1, 21) ? "max_prepared_statements = 200" : "";
        var server = new Npgsql.NpgsqlConnectionStringBuilder(adminConnectionString);
        var directory = Directory.CreateTempSubdirectory("blog-pgbouncer-").FullName;
        var port = Processes.FreePort();
        var config = Path.Combine(directory, "pgbouncer.ini");
        await File.WriteAllTextAsync(Path.Combine(directory, "userlist.txt"), $"\"{server.Username}\" \"\"\n");
        await File.WriteAllTextAsync(config, $"""
            [databases]
            * = host={server.Host} port={server.Port}
            [pgbouncer]
            listen_addr = 127.0.0.1
            listen_port = {port}
            unix_socket_dir =
            auth_type = trust
            auth_file = {directory}/userlist.txt
            pool_mode = transaction
            admin_users = {server.Username}
            max_client_conn = 2000
            default_pool_size = 40
            ignore_startup_parameters = extra_float_digits
            {preparedStatements}
            {extraSettings}
            pidfile = {directory}/pgbouncer.pid
            logfile = {directory}/pgbouncer.log
            """);
        if (Processes.IsRoot) await Processes.RunAsync("chown", "-R", "postgres:postgres", directory);
        // pgbouncer refuses to run as root; -d daemonizes, and the watchdog stops it with the run.
        await Processes.RunAsync(Processes.IsRoot ? ["runuser", "-u", "postgres", "--", binary, "-d", config] : [binary, "-d", config]);
        var script = $"exec </dev/null >/dev/null 2>&1; while kill -0 {Environment.ProcessId} 2>/dev/null; do sleep 0.5; done; kill $(cat {directory}/pgbouncer.pid); rm -rf '{directory}'";
        Process.Start(new ProcessStartInfo("setsid", ["sh", "-c", script]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true })!.Dispose();
        return new PgBouncer(port, version) { directory = directory };
    }

    string directory = "";

    /// <summary>Stops a PgBouncer a test started for itself (the run's own stops with the run).</summary>
    public async Task StopAsync() =>
        await Processes.RunAsync("sh", "-c", $"kill $(cat '{directory}/pgbouncer.pid') 2>/dev/null; true");
}
