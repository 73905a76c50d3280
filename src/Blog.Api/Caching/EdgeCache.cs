using System.Collections.Concurrent;
using System.Text.Json;
using Blog.Api.Data;
using Blog.Api.Hosting;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Caching.Memory;

namespace Blog.Api.Caching;

/// <summary>
/// The edge cache's memory: anonymous answers by the output cache's key, and the rows of
/// answers and the viewers that signed-in readers are answered from (EdgeCache.Viewers.cs), at
/// most CACHE_MAX_MB, each with the tags of what it shows (<see cref="CacheTags"/>), evicted by tag.
///
/// Coherence. Every change is an eviction of tags: from a write of this instance, before it
/// answers (<see cref="Evict"/>), and from every instance's writes through the
/// <see cref="ChangeListener"/>. An answer is read from the database before it is stored, so a
/// change can land in between and evict nothing; then the stale answer would be stored after
/// it. So each change gets a sequence number, a request notes the number when it starts
/// (<see cref="Since"/>), and <see cref="SetAsync"/> refuses an answer when a change it shows
/// came after that. With a listener configured, nothing is served or stored while it is not
/// connected (<see cref="Serving"/>), and everything is dropped when it connects again: a
/// change may have gone by unheard.
/// </summary>
internal sealed partial class EdgeCache : IOutputCacheStore
{
    const string SincePrefix = "#since:";
    const int Remembered = 1024;   // the latest changes kept for SetAsync to compare with

    /// <summary>An answer: the output cache's bytes, or rows signed-in readers are answered from; read anew from <paramref name="RefreshAt"/> (ticks).</summary>
    sealed record Entry(string Key, object Value, string[] Tags, long RefreshAt);

    // The answers one reader is reading anew (Held), while the others are still answered from them.
    readonly ConcurrentDictionary<string, byte> refreshing = new(StringComparer.Ordinal);

    readonly MemoryCache entries;
    readonly Dictionary<string, HashSet<Entry>> byTag = new(StringComparer.Ordinal);
    readonly (long Sequence, string[] Tags)[] recent = new (long, string[])[Remembered];
    readonly Lock gate = new();
    readonly ChangeListener? listener;
    long sequence;

    readonly Replica? replica;
    readonly Freezes? freezes;
    readonly RegionPeers? peers;

    public EdgeCache(Settings settings, ILogger<ChangeListener> log, Db? db = null, Freezes? freezes = null, RegionPeers? peers = null)
    {
        Enabled = settings.CacheSeconds > 0;
        Lifetime = TimeSpan.FromSeconds(Math.Max(settings.CacheSeconds, 1));
        entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = (long)settings.CacheMegabytes * 1024 * 1024 });
        viewers = new MemoryCache(new MemoryCacheOptions { SizeLimit = (long)settings.ViewerMegabytes * 1024 * 1024 });
        maxViewers = settings.MaxViewers;
        if (Enabled && settings.DirectDatabaseUrl is { } direct) listener = new ChangeListener(this, direct, settings.ListenerIdle, log);
        this.freezes = freezes;
        if (peers is { Any: true }) this.peers = peers;
        if (listener is not null && freezes is not null) freezes.Thawed += _ => listener.Thawed();
        // Answers read from a replica: a change is evicted again once the replica has it (an
        // answer read in between would show the replica's older state), and everything goes
        // when reads leave the replica (changes it was behind on may never be evicted again).
        replica = db?.Replica;
        if (Enabled && replica is not null) replica.StoppedServing += Clear;
        if (Enabled) Metrics.Meter.CreateObservableGauge("blog.cache.entries", () => entries.Count, description: "Answers held by the edge cache");
        if (Enabled) Metrics.Meter.CreateObservableGauge("blog.cache.viewers", () => viewers.Count, description: "Signed-in readers the edge cache holds a viewer entry for");
    }

    /// <summary>Whether anonymous reads are cached at all (CACHE_SECONDS &gt; 0).</summary>
    public bool Enabled { get; }

    /// <summary>How long an answer may be served (CACHE_SECONDS), the bound on its age.</summary>
    public TimeSpan Lifetime { get; }

    /// <summary>The listener, when DIRECT_DATABASE_URL gives one.</summary>
    public ChangeListener? Listener => listener;

    /// <summary>
    /// Whether a request may be answered from the cache, and its answer stored, now: without a
    /// listener always (one instance, its own writes); with one, only while it is connected.
    /// Asking counts as activity: it opens a listener that was closed for being idle.
    /// </summary>
    public bool Serving()
    {
        freezes?.Check();  // a thawed process's cache may have missed changes: the check says so first
        if (listener is null) return true;
        listener.Touch();
        return listener.Connected;
    }

    /// <summary>The tag that records, on a request's answer, which changes it may already show.</summary>
    public string Since() => SincePrefix + Interlocked.Read(ref sequence);

    /// <summary>
    /// Adds <paramref name="tag"/> to the answer of <paramref name="http"/>, when it may be
    /// stored. Null means it shows something no tag can name: it is not stored.
    /// </summary>
    public static void Shows(HttpContext http, string? tag)
    {
        if (Storing(http) is not { } context) return;
        if (tag is null) context.AllowCacheStorage = false;
        else context.Tags.Add(tag);
    }

    /// <summary>
    /// Whether the answer of <paramref name="http"/> may be stored, so that its tags are needed:
    /// not when the cache is off or the caller signed in.
    /// </summary>
    public static bool Stores(HttpContext http) => Storing(http) is not null;

    static OutputCacheContext? Storing(HttpContext http) =>
        http.Features.Get<IOutputCacheFeature>()?.Context is { AllowCacheStorage: true } context ? context : null;

    /// <summary>
    /// Evicts what a write of this instance changed, before it answers: <paramref name="changes"/>
    /// is the payload its statement published (null when it changed nothing). With a replica,
    /// again once the replica has the write, before the answer leaves (Db.Retried). A write of
    /// the viewer's own state (<paramref name="own"/>) updates their entry here rather than
    /// dropping it (EdgeCache.Viewers.cs), so that their next read through this instance shows it.
    /// The other instances of the region evict it too before the answer leaves (RegionPeers).
    /// Returns the write's transaction id (0 when the cache is off or nothing changed).
    /// </summary>
    public long Evict(string? changes, OwnChange? own = null)
    {
        if (!Enabled || string.IsNullOrEmpty(changes)) return 0;
        var (xid, tags) = Read(changes);
        Metrics.CacheEvictions.Add(1, new KeyValuePair<string, object?>("source", "write"));
        lock (gate)
        {
            var before = own is null ? null : Before(own.Viewer, xid);
            EvictTags(tags, xid);
            if (before is not null) Updated(own!, before, xid);
        }
        if (StatementDeadline.Requests.HttpContext is { } http)
        {
            if (replica is not null) Db.OnceReplayed(http, () => EvictTags(tags, xid));
            if (peers is not null) Db.BeforeAnswer(http, replayed => peers.PushAsync(changes, replayed));
        }
        return xid;
    }

    /// <summary>Evicts what another instance's write changed, as the listener heard it.</summary>
    internal void Heard(string payload) => Noted(EvictOthers(payload, "listener"));

    /// <summary>
    /// Evicts what a peer of this region wrote, as it pushed it before answering (RegionPeers).
    /// When the replica had not shown the peer it has the write (<paramref name="replayed"/>
    /// false: it did not replay it in time, or the peer does not read from it), and reads here go
    /// to the replica, this waits until it has it, at most <paramref name="replicaWait"/>, past
    /// which reads here leave the replica (Replica.AwaitAsync): the writer's next read may come here.
    /// </summary>
    internal async Task PushedAsync(string payload, bool replayed, TimeSpan replicaWait)
    {
        var xid = EvictOthers(payload, "peer");
        if (!replayed && replica is not null && xid > 0) await replica.AwaitAsync(xid, replicaWait);
    }

    long EvictOthers(string payload, string source)
    {
        var (xid, tags) = Read(payload);
        Metrics.CacheEvictions.Add(1, new KeyValuePair<string, object?>("source", source));
        EvictTags(tags, xid);
        if (replica is not null && xid > 0) _ = EvictReplayedAsync(replica, xid, tags);
        return xid;
    }

    async Task EvictReplayedAsync(Replica replica, long xid, string[] tags)
    {
        await replica.AwaitAsync(xid);
        EvictTags(tags, xid);
    }

    /// <summary>A payload of migration 0007's publish(): {"xid": "…", "tags": […]}.</summary>
    static (long Xid, string[] Tags) Read(string payload)
    {
        var (xid, tags) = (0L, new List<string>());
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(payload));
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("xid") && reader.Read())
                {
                    long.TryParse(reader.GetString(), out xid);
                }
                else if (reader.TokenType == JsonTokenType.String) tags.Add(reader.GetString()!);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            tags = [CacheTags.Everything];  // not ours to read: assume the worst
        }
        return (xid, tags.ToArray());
    }

    /// <summary>Evicts every answer and viewer that <paramref name="tags"/> name; <paramref name="xid"/> is the change's transaction, when known.</summary>
    internal void EvictTags(string[] tags, long xid = 0)
    {
        lock (gate)
        {
            sequence++;
            recent[sequence % Remembered] = (sequence, tags);
            if (tags.Contains(CacheTags.Everything))
            {
                DropEverything();
                return;
            }
            foreach (var tag in tags)
            {
                if (CacheTags.ViewerId(tag) is { } viewer)
                {
                    EvictViewer(viewer, xid);
                    continue;
                }
                if (!byTag.Remove(tag, out var shown)) continue;
                foreach (var entry in shown)
                {
                    if (entries.TryGetValue(entry.Key, out var current) && ReferenceEquals(current, entry)) entries.Remove(entry.Key);
                }
            }
        }
    }

    /// <summary>Forgets everything, and refuses answers begun before now (the listener's gaps).</summary>
    internal void Clear() => EvictTags([CacheTags.Everything]);

    void DropEverything()
    {
        byTag.Clear();
        entries.Clear();
        viewers.Clear();
        refreshing.Clear();
        ownUpdates.Clear();
        foreach (var waiting in hearing.Values) waiting.TrySetResult();  // deaf: nothing is served from entries, anywhere it is deaf
        hearing.Clear();
        dropped.Clear();
    }

    public ValueTask<byte[]?> GetAsync(string key, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Held(key) is { Value: byte[] bytes } ? bytes : null);

    /// <summary>
    /// The answer held under <paramref name="key"/>, unless this caller is to read it anew.
    /// Refresh-ahead: past four fifths of its lifetime, one reader reads the answer again, and
    /// stores it, while the others are still answered from it; so an answer in steady use is
    /// replaced before it expires, and its readers never all go to the database at once.
    /// </summary>
    Entry? Held(string key)
    {
        if (!entries.TryGetValue(key, out var found) || found is not Entry entry) return null;
        return Environment.TickCount64 < entry.RefreshAt || !refreshing.TryAdd(key, 0) ? entry : null;
    }

    /// <summary>When something stored for <paramref name="lifetime"/> now is to be read anew (ticks).</summary>
    static long RefreshAt(TimeSpan lifetime) => Environment.TickCount64 + (long)(lifetime.TotalMilliseconds * 0.8);

    public ValueTask SetAsync(string key, byte[] value, string[]? tags, TimeSpan validFor, CancellationToken cancellationToken)
    {
        var since = -1L;
        var shown = new List<string>();
        foreach (var tag in tags ?? [])
        {
            if (tag.StartsWith(SincePrefix, StringComparison.Ordinal)) since = long.Parse(tag.AsSpan(SincePrefix.Length));
            else shown.Add(tag);
        }
        Store(key, value, value.Length, [.. shown], since, validFor);
        return default;
    }

    /// <summary>Keeps an answer unless a change it shows came after <paramref name="since"/>.</summary>
    void Store(string key, object value, long bytes, string[] tags, long since, TimeSpan validFor)
    {
        refreshing.TryRemove(key, out _);
        var entry = new Entry(key, value, tags, RefreshAt(validFor));
        var options = new MemoryCacheEntryOptions { Size = bytes + key.Length * 2L + 200, AbsoluteExpirationRelativeToNow = validFor };
        options.RegisterPostEvictionCallback(static (_, value, reason, state) => ((EdgeCache)state!).Unindex((Entry)value!, reason), this);
        lock (gate)
        {
            if (!MayStore(since, entry.Tags)) return;
            foreach (var tag in entry.Tags)
            {
                if (!byTag.TryGetValue(tag, out var set)) byTag[tag] = set = [];
                set.Add(entry);
            }
            entries.Set(key, entry, options);
        }
    }

    // Under gate: whether no change since `since` names a tag of the answer.
    bool MayStore(long since, string[] tags)
    {
        if (since < 0 || since < sequence - Remembered) return since == sequence;
        for (var n = since + 1; n <= sequence; n++)
        {
            var changed = recent[n % Remembered].Tags;
            if (changed.Contains(CacheTags.Everything) || changed.Any(tags.Contains)) return false;
        }
        return true;
    }

    void Unindex(Entry entry, EvictionReason reason)
    {
        if (reason != EvictionReason.Replaced) refreshing.TryRemove(entry.Key, out _);  // a refresh that stored nothing ends with the entry
        lock (gate)
        {
            foreach (var tag in entry.Tags)
            {
                if (byTag.TryGetValue(tag, out var set) && set.Remove(entry) && set.Count == 0) byTag.Remove(tag);
            }
        }
    }

    public ValueTask EvictByTagAsync(string tag, CancellationToken cancellationToken)
    {
        EvictTags([tag]);
        return default;
    }
}
