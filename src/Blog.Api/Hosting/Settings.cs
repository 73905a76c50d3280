using System.Text;
using Blog.Api.Auth;
using Blog.Api.Caching;
using Blog.Api.Data;

namespace Blog.Api.Hosting;

/// <summary>
/// The service's configuration (environment variables or any ASP.NET Core source), checked
/// once at start so a bad deployment stops at once with a message naming the variable.
/// </summary>
internal sealed record Settings(
    string DatabaseUrl,
    string? DirectDatabaseUrl,
    int DatabasePoolSize,
    string JwtSecret,
    IReadOnlyList<string> JwtAcceptedSecrets,
    int Port,
    IReadOnlyList<Uri>? Urls,
    IReadOnlyList<string>? CorsOrigins,
    int CacheSeconds,
    int CacheMegabytes,
    int ViewerMegabytes,
    int MaxViewers,
    TimeSpan ListenerIdle,
    TimeSpan ShutdownTimeout,
    int SignInsPerMinute,
    bool TrustFlyClientIp,
    bool IdleMemoryTrim,
    PreparedStatements PreparedStatements,
    string Region,
    int MetricsPort,
    int PeerPort,
    IReadOnlyList<string> Peers,
    System.Net.IPAddress? PrivateIp,
    bool RequestLogs,
    string? ReplicaUrl,
    TimeSpan ReplicaWait,
    TimeSpan ReplicaMaxLag,
    TimeSpan MigrationLockTimeout,
    IReadOnlyList<string> Problems)
{
    const string DevelopmentDatabase = "postgres://postgres@127.0.0.1:5432/blog";

    public static Settings From(IConfiguration config, IHostEnvironment environment)
    {
        var problems = new List<string>();
        var development = environment.IsDevelopment();

        var databaseUrl = config["DATABASE_URL"];
        if (string.IsNullOrWhiteSpace(databaseUrl))
        {
            if (development) databaseUrl = DevelopmentDatabase;
            else problems.Add("DATABASE_URL is not set: give a postgres:// URL or an Npgsql connection string.");
        }
        else
        {
            try { Data.DatabaseUrl.ToConnectionString(databaseUrl); }
            catch (Exception e) when (e is FormatException or ArgumentException) { problems.Add($"DATABASE_URL is invalid: {e.Message}"); }
        }

        var direct = config["DIRECT_DATABASE_URL"] is { Length: > 0 } directUrl ? directUrl : null;
        if (direct is not null)
        {
            try { Data.DatabaseUrl.ToConnectionString(direct); }
            catch (Exception e) when (e is FormatException or ArgumentException) { problems.Add($"DIRECT_DATABASE_URL is invalid: {e.Message}"); }
        }

        var secret = config["JWT_SECRET"];
        // In Development without a secret, a random one for this process: tokens end with it,
        // and no one can sign a token with a key written in the source.
        if (string.IsNullOrEmpty(secret) && development) secret = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(48));
        else if (string.IsNullOrEmpty(secret)) problems.Add("JWT_SECRET is not set: give a random secret of at least 32 bytes (e.g. `openssl rand -base64 48`).");
        else if (Encoding.UTF8.GetByteCount(secret) < Tokens.MinSecretBytes) problems.Add($"JWT_SECRET is too short: it needs at least {Tokens.MinSecretBytes} bytes.");

        // Secrets whose tokens are still accepted, for verification only: the previous one after
        // a rotation, and the next one before it signs (README, Deploying to Fly.io).
        var accepted = config["JWT_ACCEPTED_SECRETS"]?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (accepted.Any(a => Encoding.UTF8.GetByteCount(a) < Tokens.MinSecretBytes)) problems.Add($"JWT_ACCEPTED_SECRETS is invalid: each secret needs at least {Tokens.MinSecretBytes} bytes.");

        var port = Number(config, "PORT", 8080, 1, 65535, problems);
        // ASPNETCORE_URLS (the framework reads it as "urls"): where it is given, it wins over PORT.
        var urls = config["urls"] is { Length: > 0 } urlList ? ParseUrls(urlList, problems) : null;
        // With a direct URL for the cache's listener the cache is coherent, and on by default.
        var cacheSeconds = Number(config, "CACHE_SECONDS", direct is null ? 0 : 60, 0, 86_400, problems);
        var cacheMegabytes = Number(config, "CACHE_MAX_MB", 32, 1, 65_536, problems);
        // At most this many connections to the database (and to a replica), each: Data/Database.cs says why.
        var poolSize = Number(config, "DATABASE_POOL_SIZE", Database.PoolSize, 1, 1000, problems);
        // Signed-in readers' viewer entries (Caching/Viewer.cs), bounded by bytes and by count.
        var viewerMegabytes = Number(config, "VIEWER_CACHE_MAX_MB", 16, 1, 65_536, problems);
        var maxViewers = Number(config, "VIEWER_CACHE_MAX_ENTRIES", 50_000, 1, 10_000_000, problems);
        var listenerIdle = Number(config, "LISTEN_IDLE_SECONDS", 300, 1, 86_400, problems);
        var shutdownSeconds = Number(config, "SHUTDOWN_TIMEOUT_SECONDS", 10, 1, 300, problems);
        var signIns = Number(config, "AUTH_RATE_LIMIT", 20, 1, 1_000_000, problems);
        // Fly's proxy sets Fly-Client-IP to the real client address; anywhere else the header
        // is whatever the client sent, so it counts only where this is switched on.
        var trustFly = config["TRUST_FLY_CLIENT_IP"] is "true" or "1";
        var idleTrim = config["IDLE_MEMORY_TRIM"] is "true" or "1";  // off by default: no request pays for a trim (IdleMemory)
        var prepared = config["PREPARED_STATEMENTS"] switch
        {
            null or "" or "auto" => PreparedStatements.Auto,
            "on" or "true" => PreparedStatements.On,
            "off" or "false" => PreparedStatements.Off,
            var text => Invalid(text),
        };
        PreparedStatements Invalid(string text)
        {
            problems.Add($"PREPARED_STATEMENTS is invalid: '{text}' is not auto, on or off.");
            return PreparedStatements.Auto;
        }

        // A read replica near this machine: the one named for its Fly region, else the one for all.
        var region = config["FLY_REGION"] is { Length: > 0 } flyRegion ? flyRegion.ToUpperInvariant() : null;
        var replicaName = region is not null && config[$"READ_REPLICA_URL_{region}"] is { Length: > 0 } ? $"READ_REPLICA_URL_{region}" : "READ_REPLICA_URL";
        var replica = config[replicaName] is { Length: > 0 } replicaUrl ? replicaUrl : null;
        if (replica is not null)
        {
            try { Data.DatabaseUrl.ToConnectionString(replica); }
            catch (Exception e) when (e is FormatException or ArgumentException) { problems.Add($"{replicaName} is invalid: {e.Message}"); }
        }
        var replicaWait = Number(config, "REPLICA_WAIT_MS", 1000, 1, 60_000, problems);
        var metricsPort = Number(config, "METRICS_PORT", 0, 0, 65535, problems);
        if (metricsPort != 0 && metricsPort == port) problems.Add($"METRICS_PORT is invalid: it is PORT ({port}); metrics need a port of their own, which the public one is not.");
        // The other instances of this region, told of each write before it answers (Caching/RegionPeers):
        // PEERS names them (host or host:port, comma-separated); on Fly it defaults to every
        // Machine of the app in this region, by the private network's DNS.
        var peerPort = Number(config, "PEER_PORT", 0, 0, 65535, problems);
        if (peerPort != 0 && (peerPort == port || peerPort == metricsPort)) problems.Add($"PEER_PORT is invalid: it is PORT or METRICS_PORT ({peerPort}); peers need a port of their own, on the private network only.");
        var peers = config["PEERS"]?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (peers.Length == 0 && peerPort != 0 && config["FLY_APP_NAME"] is { Length: > 0 } app && config["FLY_REGION"] is { Length: > 0 } here) peers = [$"{here}.{app}.internal"];
        if (peers.Length > 0 && peerPort == 0) problems.Add("PEERS is set but PEER_PORT is not: peers push to each other on PEER_PORT.");
        foreach (var peer in peers.Where(peer => RegionPeers.Parse(peer, peerPort) is null)) problems.Add($"PEERS is invalid: '{peer}' is not HOST or HOST:PORT.");
        var privateIp = System.Net.IPAddress.TryParse(config["FLY_PRIVATE_IP"], out var flyIp) ? flyIp : null;
        var requestLogs = config["REQUEST_LOGS"] is not ("false" or "0");
        var replicaMaxLag = Number(config, "REPLICA_MAX_LAG_MS", 2000, 1, 3_600_000, problems);
        var migrationLockTimeout = Number(config, "MIGRATION_LOCK_TIMEOUT_MS", 1000, 1, 600_000, problems);

        // Comma-separated origins; unset (or "*") allows any origin, as the seed service did.
        var origins = config["CORS_ORIGINS"]?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (origins is [] or ["*"]) origins = null;

        return new Settings(databaseUrl ?? "", direct, poolSize, secret ?? "", accepted, port, urls, origins, cacheSeconds, cacheMegabytes, viewerMegabytes, maxViewers, TimeSpan.FromSeconds(listenerIdle), TimeSpan.FromSeconds(shutdownSeconds), signIns, trustFly, idleTrim, prepared,
            config["FLY_REGION"] is { Length: > 0 } flyRegionName ? flyRegionName : "local", metricsPort, peerPort, peers, privateIp, requestLogs,
            replica, TimeSpan.FromMilliseconds(replicaWait), TimeSpan.FromMilliseconds(replicaMaxLag), TimeSpan.FromMilliseconds(migrationLockTimeout), problems);
    }

    /// <summary>
    /// ASPNETCORE_URLS: http URLs separated by ';', each a host (an IP address, localhost, or *,
    /// + or 0.0.0.0 for every interface) and a port; no https (TLS ends at Fly's proxy).
    /// </summary>
    static List<Uri>? ParseUrls(string text, List<string> problems)
    {
        var urls = new List<Uri>();
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            // '*' and '+' (every interface, as the framework writes it) are not hosts a Uri takes.
            var normal = part.Replace("://*:", "://0.0.0.0:").Replace("://+:", "://0.0.0.0:");
            if (Uri.TryCreate(normal, UriKind.Absolute, out var url) && url.Scheme == "http" && url.AbsolutePath == "/" && !url.IsDefaultPort
                && (url.Host == "localhost" || System.Net.IPAddress.TryParse(url.Host.Trim('[', ']'), out _)))
            {
                urls.Add(url);
            }
            else
            {
                problems.Add($"ASPNETCORE_URLS is invalid: '{part}' is not http://HOST:PORT with an IP address, localhost or * as the host.");
            }
        }
        return urls.Count > 0 ? urls : null;
    }

    static int Number(IConfiguration config, string name, int fallback, int min, int max, List<string> problems)
    {
        if (config[name] is not { Length: > 0 } text) return fallback;
        if (int.TryParse(text, out var value) && value >= min && value <= max) return value;
        problems.Add($"{name} is invalid: '{text}' is not a whole number from {min} to {max}.");
        return fallback;
    }
}
