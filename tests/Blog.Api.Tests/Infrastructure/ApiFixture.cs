using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>
/// A running service on a fresh database, one per test class. The same test classes run
/// against <see cref="InProcessApi"/> and <see cref="BinaryApi"/>.
/// </summary>
public abstract class ApiFixture : IAsyncLifetime
{
    public const string JwtSecret = "test-secret-that-is-long-enough-for-hs256-0123456789";

    /// <summary>The test database, reached directly.</summary>
    public string ConnectionString { get; private set; } = "";

    /// <summary>How the service reaches it (through PgBouncer in the PgBouncer run).</summary>
    public string ServiceConnectionString { get; private set; } = "";
    public string DatabaseName { get; private set; } = "";
    public HttpClient Client { get; protected set; } = null!;

    /// <summary>Null where round trips cannot be observed (the binary is another process).</summary>
    public RoundTripCounter? RoundTrips { get; protected set; }

    /// <summary>A direct line to the test database, to check what a request left behind.</summary>
    public NpgsqlDataSource Db { get; private set; } = null!;

    public abstract string Kind { get; }

    public Dictionary<string, string?> Environment
    {
        get
        {
            var environment = ServiceProcess.EnvironmentFor(ServiceConnectionString);
            environment["Logging__LogLevel__Default"] = "Warning";
            environment["Logging__LogLevel__Blog.Api.Data.Db"] = "Information";  // whether statements are prepared
            environment["AUTH_RATE_LIMIT"] = "1000000";  // tests register many users from one address
            foreach (var (name, value) in ExtraSettings) environment[name] = value;
            return environment;
        }
    }

    /// <summary>Settings a variant of the fixture adds (e.g. the edge cache switched on).</summary>
    protected virtual IReadOnlyDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        (ConnectionString, DatabaseName, ServiceConnectionString) = await CreateDatabaseAsync();
        Db = NpgsqlDataSource.Create(ConnectionString);
        await StartAsync();
    }

    /// <summary>A fresh, migrated database: its direct connection string, its name, and how the service reaches it.</summary>
    protected virtual async Task<(string ConnectionString, string Name, string ServiceConnectionString)> CreateDatabaseAsync()
    {
        var server = await PostgresServer.Instance;
        var (connectionString, name) = await server.CreateDatabaseAsync(GetType().Name);
        return (connectionString, name, server.ServiceConnectionString(connectionString));
    }

    protected abstract Task StartAsync();

    public virtual async Task DisposeAsync()
    {
        Client?.Dispose();
        RoundTrips?.Dispose();
        if (Db is not null) await Db.DisposeAsync();
    }
}

public class InProcessApi : ApiFixture
{
    WebApplicationFactory<Program>? factory;

    public override string Kind => "in-process";

    protected override Task StartAsync()
    {
        factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            host.UseEnvironment("Production");
            foreach (var (name, value) in Environment) host.UseSetting(name.Replace("__", ":"), value);
        });
        RoundTrips = new RoundTripCounter(DatabaseName);
        Client = factory.CreateClient();
        return Task.CompletedTask;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (factory is not null) await factory.DisposeAsync();
    }
}

public class BinaryApi : ApiFixture
{
    public ServiceProcess? Process { get; private set; }

    public override string Kind => "aot-binary";

    protected override async Task StartAsync()
    {
        var environment = Environment;
        environment["PORT"] = Processes.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        Process = await ServiceProcess.StartHealthyAsync(environment);
        Client = Process.Client;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (Process is not null) await Process.DisposeAsync();
    }
}
