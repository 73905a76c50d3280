using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Blog.Api.Hosting;

namespace Blog.Api.Caching;

/// <summary>
/// The other instances of this region, told of each write before its answer leaves, so that the
/// writer's next read shows it on whichever of them it lands (issue #33: "the reader's own
/// favorite or follow in their very next read, any instance of the region").
///
/// The change feed reaches every instance too, but each hears a commit at its own moment, and a
/// writer who reads again at once can land on one that has not heard it yet. So the instance that
/// made the write pushes the change (the payload its statement published) to each peer over the
/// private network, and answers once every peer has evicted it (about a millisecond in a region),
/// or after <see cref="Wait"/>. A peer that cannot be reached in time is left to the change feed:
/// a suspended or restarted peer empties its cache when it wakes anyway (Freezes, ChangeListener).
///
/// Peers are PEERS (host or host:port, comma-separated; on Fly by default &lt;region&gt;.&lt;app&gt;.internal,
/// every started Machine of the app in the region), resolved again every few seconds; this
/// instance's own address (loopback or FLY_PRIVATE_IP, on PEER_PORT) is left out. Pushes go to
/// PEER_PORT, which fly.toml does not expose: only the private network reaches it, and a peer
/// accepts a push only with the key derived from the JWT secret that all instances share.
/// </summary>
internal sealed class RegionPeers
{
    public const string Path = "/internal/changes";
    const string KeyHeader = "Peer-Key", ReplayedHeader = "Replica-Has-Write";

    /// <summary>
    /// How long a write's answer waits for its peers, at most: a push takes about a millisecond,
    /// but a machine on a shared CPU can stall for hundreds (as long as the replica wait, REPLICA_WAIT_MS's default).
    /// </summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(1);
    /// <summary>How long a peer waits for its replica to have a write the writer's replica did not show it, within <see cref="Wait"/>.</summary>
    static readonly TimeSpan ReplicaWait = TimeSpan.FromMilliseconds(200);
    static readonly TimeSpan ResolveEvery = TimeSpan.FromSeconds(5);

    readonly (string Host, int Port)[] names;
    readonly int ownPort;
    readonly IPAddress? ownAddress;
    readonly string key;
    readonly byte[][] accepted;
    readonly ILogger log;
    readonly HttpClient client = new(new SocketsHttpHandler
    {
        ConnectTimeout = Wait,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        UseProxy = false,
        AllowAutoRedirect = false,
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    readonly Lock gate = new();
    readonly ConcurrentDictionary<IPEndPoint, bool> failing = new();
    IPEndPoint[] peers = [];
    long resolvedAt;  // Environment.TickCount64; 0 before the first resolution
    Task<IPEndPoint[]>? resolving;  // under gate

    public RegionPeers(Settings settings, ILogger<RegionPeers> log)
    {
        names = [.. settings.Peers.Select(peer => Parse(peer, settings.PeerPort)!.Value)];
        ownPort = settings.PeerPort;
        ownAddress = settings.PrivateIp;
        this.log = log;
        key = Convert.ToBase64String(KeyOf(settings.JwtSecret));
        accepted = [.. settings.JwtAcceptedSecrets.Prepend(settings.JwtSecret).Select(KeyOf)];
    }

    /// <summary>Whether this instance has peers to tell (PEERS, or Fly's default).</summary>
    public bool Any => names.Length > 0;

    static byte[] KeyOf(string secret) => HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), "blog-api region peers"u8);

    /// <summary>A peer as PEERS names it: HOST, HOST:PORT or [IPv6]:PORT; null when it is none of them.</summary>
    public static (string Host, int Port)? Parse(string peer, int defaultPort)
    {
        if (!Uri.TryCreate($"http://{peer}", UriKind.Absolute, out var url) || url.AbsolutePath != "/" || url.UserInfo.Length > 0 || url.Query.Length > 0) return null;
        var port = peer.EndsWith($":{url.Port}", StringComparison.Ordinal) ? url.Port : defaultPort;
        return (url.IdnHost.Trim('[', ']'), port);
    }

    /// <summary>
    /// Tells every peer of <paramref name="changes"/> (a write's published payload) and returns
    /// once each has evicted it, refused it, or <see cref="Wait"/> has passed. When the replica did
    /// not show the writer it has the write (<paramref name="replayed"/> false), each peer that reads
    /// from it waits until it has (at most <see cref="ReplicaWait"/>), or else leaves it, before it
    /// answers the push (EdgeCache.PushedAsync). A peer that did not answer the last push is told
    /// without waiting: a partition or a dead peer costs one write the wait, not every write; its
    /// first answer makes it waited for again.
    /// </summary>
    public async Task PushAsync(string changes, bool replayed)
    {
        var pushes = new List<Task>();
        foreach (var peer in await PeersAsync())
        {
            var push = PushAsync(peer, changes, replayed);
            if (!failing.ContainsKey(peer)) pushes.Add(push);
        }
        await Task.WhenAll(pushes);
    }

    async Task PushAsync(IPEndPoint peer, string changes, bool replayed)
    {
        using var timeout = new CancellationTokenSource(Wait);
        var started = Stopwatch.GetTimestamp();
        string result;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"http://{peer}{Path}") { Content = new StringContent(changes, Encoding.UTF8, "application/json") };
            request.Headers.Add(KeyHeader, key);
            if (!replayed) request.Headers.Add(ReplayedHeader, "false");
            using var response = await client.SendAsync(request, timeout.Token);
            result = response.IsSuccessStatusCode ? "evicted" : "refused";
        }
        catch (Exception)  // whatever kept the peer from answering, the write has committed: it answers
        {
            result = timeout.IsCancellationRequested ? "timed_out" : "unreachable";
        }
        if (result == "evicted") failing.TryRemove(peer, out _);
        else failing[peer] = true;
        Metrics.PeerPushes.Record(Stopwatch.GetElapsedTime(started).TotalSeconds, new KeyValuePair<string, object?>("result", result));
    }

    /// <summary>The peers' addresses: resolved at the first push, then again in the background every few seconds.</summary>
    async ValueTask<IPEndPoint[]> PeersAsync()
    {
        var at = Interlocked.Read(ref resolvedAt);
        if (at != 0 && Environment.TickCount64 - at < ResolveEvery.TotalMilliseconds) return Volatile.Read(ref peers);
        Task<IPEndPoint[]> pending;
        lock (gate) pending = resolving ??= ResolveAsync();
        return at == 0 ? await pending : Volatile.Read(ref peers);
    }

    async Task<IPEndPoint[]> ResolveAsync()
    {
        var found = new List<IPEndPoint>();
        try
        {
            foreach (var (host, port) in names)
            {
                foreach (var address in await Dns.GetHostAddressesAsync(host))
                {
                    if (port == ownPort && (IPAddress.IsLoopback(address) || address.Equals(ownAddress))) continue;  // this instance
                    found.Add(new IPEndPoint(address, port));
                }
            }
            Volatile.Write(ref peers, [.. found.Distinct()]);
            foreach (var gone in failing.Keys.Except(found)) failing.TryRemove(gone, out _);
        }
        catch (Exception e)  // DNS down or a name gone: a write must not fail for it
        {
            log.LogWarning("The region's peers could not be resolved ({Message}); writes tell the ones found before.", e.Message);
        }
        Interlocked.Exchange(ref resolvedAt, Environment.TickCount64);
        lock (gate) resolving = null;
        return Volatile.Read(ref peers);
    }

    /// <summary>Whether a push carries the key of a secret this instance accepts.</summary>
    bool Accepts(string? given)
    {
        Span<byte> bytes = stackalloc byte[32];
        if (given is not { Length: 44 } || !Convert.TryFromBase64String(given, bytes, out var written) || written != 32) return false;
        foreach (var secretKey in accepted)
        {
            if (CryptographicOperations.FixedTimeEquals(secretKey, bytes)) return true;
        }
        return false;
    }

    /// <summary>
    /// POST /internal/changes, answered only on a connection to PEER_PORT (as /metrics on its
    /// port): a peer's write, evicted here before the peer answers its writer.
    /// </summary>
    public static void MapPeers(WebApplication app, Settings settings)
    {
        if (settings.PeerPort == 0) return;
        app.MapPost(Path, async Task<IResult> (HttpContext http, RegionPeers peers, EdgeCache cache) =>
        {
            if (http.Connection.LocalPort != settings.PeerPort) return TypedResults.NotFound();
            if (!peers.Accepts(http.Request.Headers[KeyHeader])) return TypedResults.Unauthorized();
            using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
            await cache.PushedAsync(await reader.ReadToEndAsync(http.RequestAborted), replayed: http.Request.Headers[ReplayedHeader] != "false", ReplicaWait);
            return TypedResults.NoContent();
        }).ExcludeFromDescription();
    }
}
