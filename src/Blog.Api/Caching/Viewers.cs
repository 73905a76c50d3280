using System.Collections.Concurrent;
using System.Security.Claims;
using System.Threading.Channels;
using Blog.Api.Auth;
using Blog.Api.Data;
using Blog.Api.Hosting;
using Npgsql;

namespace Blog.Api.Caching;

/// <summary>
/// Signed-in reads at the edge (issue #33; Facebook's TAO serves per-viewer reads of shared
/// objects the same way). A signed-in answer differs from the anonymous one only in what
/// concerns the reader alone: whether their token still holds, <c>favorited</c> on each article,
/// <c>following</c> on each author. So the list, an article, its comments and a profile keep
/// their rows in the edge cache with those flags cleared, shared by every reader, and each
/// reader's answer is those rows with their <see cref="Viewer"/> entry laid over: no round trip.
///
/// A viewer entry is loaded in the background on a reader's first signed-in read on this
/// instance (that read takes the database path, one round trip as before), kept coherent by the
/// change feed (v&lt;id&gt;, migration 0013: a favorite, a follow, a password or email change,
/// from either release), and not used while the listener is deaf. A read whose token the entry
/// no longer accepts (another session changed the password) is refused with 401, on every
/// instance the change has reached: the cache's own invalidation bound. Writes check the token
/// in the database, as always. The feed stays on the database path: its pages are each reader's
/// own, so cached pages would not be shared.
/// </summary>
internal sealed class Viewers(EdgeCache cache, Db db, ILogger<Viewers> log)
{
    // Readers waiting for their entry, loaded by one worker in batches of up to BatchSize per
    // round trip: a burst of new readers costs a few round trips, not a connection each.
    const int Waiting = 4096, BatchSize = 256;
    readonly ConcurrentDictionary<long, byte> loading = new();
    readonly Channel<long> queue = Channel.CreateBounded<long>(new BoundedChannelOptions(Waiting) { SingleReader = true });
    int working;

    /// <summary>
    /// The caller as signed-in answers from the cache see them: their viewer entry (null: the
    /// database path, for an anonymous caller, a cache that is off or deaf, a viewer not loaded
    /// yet or with too many ids), or that their token is no longer good.
    /// </summary>
    public (Viewer? Viewer, bool Revoked) Find(ClaimsPrincipal principal)
    {
        if (!cache.Enabled || principal.OptionalId() is not { } id) return (null, false);
        if (!cache.Serving())
        {
            Count("bypass");
            return (null, false);
        }
        switch (cache.ViewerOf(id))
        {
            case null:
                Count("miss");
                Load(id);
                return (null, false);
            case var viewer when ReferenceEquals(viewer, Viewer.TooMany):
                Count("bypass");
                return (null, false);
            case var viewer:
                Count("hit");
                if (!viewer.IsMarker && cache.Due(viewer)) Load(id);  // answered from it meanwhile
                return viewer.Accepts(principal.TokenVersion(), principal.Session()) ? (viewer, false) : (null, true);
        }
    }

    static void Count(string result) => Metrics.ViewerLookups.Add(1, new KeyValuePair<string, object?>("result", result));

    /// <summary>Queues viewer <paramref name="id"/> to be loaded (once; when the queue is full, a later read asks again).</summary>
    void Load(long id)
    {
        if (!loading.TryAdd(id, 0)) return;
        if (!queue.Writer.TryWrite(id))
        {
            loading.TryRemove(id, out _);
            return;
        }
        if (Interlocked.CompareExchange(ref working, 1, 0) == 0) Background.Start(WorkAsync);
    }

    async Task WorkAsync()
    {
        while (true)
        {
            var batch = new List<long>();
            while (batch.Count < BatchSize && queue.Reader.TryRead(out var id)) batch.Add(id);
            if (batch.Count == 0)
            {
                Volatile.Write(ref working, 0);
                // A reader queued after the last TryRead and saw the worker still running: take it.
                if (!queue.Reader.TryPeek(out _) || Interlocked.CompareExchange(ref working, 1, 0) != 0) return;
                continue;
            }
            try
            {
                await LoadAsync(batch);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
            {
                log.LogDebug("Viewer entries could not be loaded ({Message}); their next signed-in reads ask again.", e.Message);
            }
            finally
            {
                foreach (var id in batch) loading.TryRemove(id, out _);
            }
        }
    }

    /// <summary>Loads viewers in one round trip, where reads go (the replica's rules hold: EdgeCache evicts again once it has a change).</summary>
    async Task LoadAsync(List<long> ids)
    {
        var since = cache.Sequence;  // a change to a viewer from here on refuses what is loaded for them
        await using var connection = db.Read();
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT u.id, u.token_version, u.kept_session,
                   ARRAY(SELECT followee_id FROM follows WHERE follower_id = u.id LIMIT $2),
                   ARRAY(SELECT article_id FROM favorites WHERE user_id = u.id LIMIT $2)
            FROM users u WHERE u.id = ANY($1)
            """, connection)
        {
            Parameters = { new() { Value = ids.ToArray() }, new() { Value = Viewer.MaxIds + 1 } },
            CommandTimeout = Database.CommandTimeout,
        };
        var found = new HashSet<long>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var id = reader.GetInt64(0);
                found.Add(id);
                cache.StoreViewer(id, Viewer.From(reader.GetInt32(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetFieldValue<long[]>(3), reader.GetFieldValue<long[]>(4)), since);
            }
        }
        foreach (var id in ids.Where(id => !found.Contains(id))) cache.StoreViewer(id, Viewer.Gone, since);
    }
}
