using Blog.Api.Hosting;
using Microsoft.Extensions.Caching.Memory;

namespace Blog.Api.Caching;

/// <summary>
/// What the edge cache keeps for signed-in readers (Viewers): the rows of shared answers, with
/// the tags of what they show, beside the anonymous answers' bytes; and a viewer entry per
/// reader (<see cref="Viewer"/>), bounded by VIEWER_CACHE_MAX_MB and VIEWER_CACHE_MAX_ENTRIES,
/// evicted by their tag v&lt;id&gt; under the same coherence as every answer: a change noted by
/// sequence number, nothing stored that a later change names, nothing served while deaf.
/// </summary>
internal sealed partial class EdgeCache
{
    readonly MemoryCache viewers;
    readonly int maxViewers;

    /// <summary>A viewer's own write, as the instance that made it applies it to their entry.</summary>
    public sealed record OwnChange(long Viewer, Func<Viewer, Viewer> Apply);

    // Under gate: the entry each viewer's own writes left here, and those writes' transactions
    // (one after another, each applied to the entry the one before left). When the change feed
    // brings one of them back (and the replica has it), the entry already shows it and is kept;
    // any other change drops it.
    readonly Dictionary<long, (HashSet<long> Xids, Viewer Entry)> ownUpdates = [];

    // Under gate: the last change that dropped each viewer's entry, and the entry it dropped.
    // The listener may hear a write before the instance that made it gets its answer back;
    // the write then applies itself to the entry its own change dropped, if nothing came since.
    readonly Dictionary<long, (long Xid, Viewer? Entry)> dropped = [];
    const int OwnUpdatesKept = 4096, OwnXidsKept = 64;

    // Under gate: the transactions the listener heard lately, and the own writes waiting to hear theirs.
    readonly HashSet<long> heard = [];
    readonly Queue<long> heardInOrder = new();
    readonly Dictionary<long, TaskCompletionSource> hearing = [];
    const int HeardKept = 4096;

    /// <summary>How long a viewer's own write waits for this instance's listener to hear it.</summary>
    static readonly TimeSpan HearingWait = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A viewer's own write (a favorite, a follow): <see cref="Evict"/>, their entry here updated,
    /// so that their next read through this instance shows it; through the other instances of the
    /// region, the write's push (RegionPeers) makes it so. Without peers to push to, the answer
    /// waits until this instance's listener has heard the write: every instance's listener hears
    /// a commit at about the same moment, so the others have dropped the writer's old entry by
    /// then, up to the skew between two listeners (SignedInReadsTests). The notification travels
    /// beside the answer, so the wait is short (at most <see cref="HearingWait"/>, then it answers anyway).
    /// </summary>
    public async Task OwnWriteAsync(string? changes, OwnChange own)
    {
        var xid = Evict(changes, own);
        if (xid <= 0 || listener is null || peers is not null || !Serving()) return;
        Task wait;
        lock (gate)
        {
            if (heard.Contains(xid)) return;
            if (!hearing.TryGetValue(xid, out var waiting)) hearing[xid] = waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = waiting.Task;
        }
        try
        {
            await wait.WaitAsync(HearingWait);
        }
        catch (TimeoutException)
        {
            lock (gate) hearing.Remove(xid);
        }
    }

    // The listener heard transaction <paramref name="xid"/>.
    void Noted(long xid)
    {
        if (xid <= 0) return;
        lock (gate)
        {
            if (heard.Add(xid))
            {
                heardInOrder.Enqueue(xid);
                if (heardInOrder.Count > HeardKept) heard.Remove(heardInOrder.Dequeue());
            }
            if (hearing.Remove(xid, out var waiting)) waiting.TrySetResult();
        }
    }

    /// <summary>The latest change's number: a read notes it before it asks the database.</summary>
    public long Sequence => Interlocked.Read(ref sequence);

    /// <summary>Whether <paramref name="viewer"/> is to be loaded anew, while still in use (refresh-ahead, as Held).</summary>
    public bool Due(Viewer viewer) => Environment.TickCount64 >= viewer.LoadedAt + (long)(Lifetime.TotalMilliseconds * 0.8);

    /// <summary>The viewer entry of user <paramref name="id"/>, if this instance holds one.</summary>
    public Viewer? ViewerOf(long id) => viewers.TryGetValue(id, out var found) ? (Viewer)found! : null;

    /// <summary>Keeps a loaded viewer unless a change to them came after <paramref name="since"/> (the load began).</summary>
    public void StoreViewer(long id, Viewer viewer, long since)
    {
        lock (gate)
        {
            if (!MayStore(since, [CacheTags.Viewer(id)])) return;
            SetViewer(id, viewer);
        }
    }

    // Under gate.
    void SetViewer(long id, Viewer viewer)
    {
        viewers.Set(id, viewer, new MemoryCacheEntryOptions { Size = viewer.Bytes, AbsoluteExpirationRelativeToNow = Lifetime });
        if (viewers.Count > maxViewers) viewers.Compact(0.1);  // the count bound, beside the byte bound
    }

    // Under gate: the entry a viewer's own write <paramref name="xid"/> applies to: the one held,
    // or the one that write's change dropped when the listener heard it first.
    Viewer? Before(long id, long xid) =>
        ViewerOf(id) is { IsMarker: false } held ? held
        : xid != 0 && dropped.TryGetValue(id, out var last) && last.Xid == xid && last.Entry is { IsMarker: false } entry ? entry
        : null;

    // Under gate: a viewer's own write, applied to the entry they had before it.
    void Updated(OwnChange own, Viewer before, long xid)
    {
        var after = own.Apply(before);
        SetViewer(own.Viewer, after);
        if (ownUpdates.Count >= OwnUpdatesKept) ownUpdates.Clear();
        var xids = ownUpdates.Remove(own.Viewer, out var earlier) && ReferenceEquals(earlier.Entry, before) && earlier.Xids.Count < OwnXidsKept ? earlier.Xids : [];
        xids.Add(xid);
        ownUpdates[own.Viewer] = (xids, after);
    }

    // Under gate: drops viewer <paramref name="id"/>'s entry, unless change <paramref name="xid"/>
    // is one of their own writes that this instance already applied to it, and nothing else came since.
    void EvictViewer(long id, long xid)
    {
        if (ownUpdates.TryGetValue(id, out var own) && own.Xids.Contains(xid) && ReferenceEquals(ViewerOf(id), own.Entry)) return;
        ownUpdates.Remove(id);
        if (dropped.Count >= OwnUpdatesKept) dropped.Clear();
        dropped[id] = (xid, ViewerOf(id));
        viewers.Remove(id);
    }

    /// <summary>The rows of a shared answer that signed-in readers are answered from, if held.</summary>
    public T? Answer<T>(string key) where T : class
    {
        var rows = Held(key) is { Value: T held } ? held : null;
        Metrics.CacheLookups.Add(1, SignedIn, new KeyValuePair<string, object?>("result", rows is null ? "miss" : "hit"));
        return rows;
    }

    static readonly KeyValuePair<string, object?> SignedIn = new("reader", "signed_in");

    /// <summary>
    /// Keeps the rows of a shared answer (every viewer's flags cleared) under the tags of what it
    /// shows, unless a change they name came after <paramref name="since"/>. Null among the tags
    /// names something no tag can name: nothing is kept.
    /// </summary>
    public void StoreAnswer(string key, object rows, long bytes, IReadOnlyCollection<string?> tags, long since)
    {
        if (tags.Any(tag => tag is null)) return;
        Store(key, rows, bytes, [.. tags.Select(tag => tag!)], since, Lifetime);
    }
}
