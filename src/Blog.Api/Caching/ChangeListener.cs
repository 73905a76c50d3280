using Blog.Api.Data;
using Blog.Api.Hosting;
using Npgsql;

namespace Blog.Api.Caching;

/// <summary>
/// One LISTEN session on the direct URL (a transaction pooler cannot hold one) that hears
/// every instance's writes (migration 0007) and evicts what each names from
/// <see cref="EdgeCache"/>. It opens in the background when the first cacheable request
/// arrives, never before the service can answer. While it is not connected the cache is
/// bypassed, and when it connects everything cached before is dropped: a change may have
/// gone by unheard. It reconnects with backoff (0.5 s doubling to 30 s).
///
/// Neon suspends a compute that has no connection for five minutes; a listener that never
/// closed would keep it awake, and billed, around the clock. So after LISTEN_IDLE_SECONDS
/// (300) without a cacheable request the listener closes, and the next request reopens it
/// (that request, and any in the next round trip or so, bypass the cache).
/// </summary>
internal sealed class ChangeListener(EdgeCache cache, string directUrl, TimeSpan idleAfter, ILogger<ChangeListener> log)
{
    public const string Channel = "blog_changes";
    public const string ApplicationName = "blog-listener";  // as pg_stat_activity shows the session
    static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(500);
    static readonly TimeSpan LastBackoff = TimeSpan.FromSeconds(30);
    static readonly TimeSpan Ping = TimeSpan.FromSeconds(5);  // a silent network shows as a failed ping within seconds

    long lastActivity = Environment.TickCount64;
    int running;  // 1 while the loop runs
    volatile bool connected;
    volatile CancellationTokenSource? session;  // the open session's: cancelled to start over
    volatile bool thawed;  // the session was ended by a thaw: start over at once, quietly

    /// <summary>Whether the session is connected and listening now.</summary>
    public bool Connected => connected;

    /// <summary>Notes activity, and opens the session if it is not open.</summary>
    public void Touch()
    {
        Interlocked.Exchange(ref lastActivity, Environment.TickCount64);
        if (Volatile.Read(ref running) == 0 && Interlocked.Exchange(ref running, 1) == 0) Background.Start(RunAsync);
    }

    TimeSpan Quiet => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref lastActivity));

    async Task RunAsync()
    {
        var backoff = FirstBackoff;
        try
        {
            while (Quiet < idleAfter)
            {
                try
                {
                    await ListenAsync();
                    log.LogInformation("The change listener closed after {Seconds} s without a cacheable request; the cache is bypassed until the next one.", (int)idleAfter.TotalSeconds);
                    return;
                }
                catch (Exception e)  // whatever broke the session, the cache must not trust it
                {
                    Disconnected();
                    if (thawed)
                    {
                        thawed = false;
                        backoff = FirstBackoff;
                        continue;
                    }
                    if (connected || backoff == FirstBackoff) log.LogWarning("The change listener is not connected ({Message}); the cache is bypassed until it is.", e.Message);
                    await Task.Delay(backoff);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LastBackoff.Ticks));
                }
            }
        }
        finally
        {
            Disconnected();
            Volatile.Write(ref running, 0);
            // A request that came in while the loop was ending found it still running.
            if (Quiet < idleAfter) Touch();
        }
    }

    async Task ListenAsync()
    {
        await using var source = Database.CreateDataSource(directUrl, name: "listener", adjust: settings =>
        {
            settings.Pooling = false;
            settings.ApplicationName = ApplicationName;
        });
        using var ending = new CancellationTokenSource();
        session = ending;
        await using var connection = await source.OpenConnectionAsync(ending.Token);
        connection.Notification += (_, e) => cache.Heard(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection)) await listen.ExecuteNonQueryAsync();
        cache.Clear();  // what was cached before this session began may have missed a change
        connected = true;
        log.LogInformation("The change listener is connected; the cache serves anonymous reads.");
        while (Quiet < idleAfter)
        {
            if (await connection.WaitAsync(Ping, ending.Token)) continue;
            await using var ping = new NpgsqlCommand("SELECT 1", connection);
            await ping.ExecuteScalarAsync(ending.Token);
        }
    }

    /// <summary>
    /// The process was frozen (Hosting/Freezes): changes may have gone by unheard, and the
    /// session's connection may be dead without a word. The cache is bypassed and emptied at
    /// once, and the session starts over (at once, not after a ping times out).
    /// </summary>
    public void Thawed()
    {
        Disconnected();
        if (session is not { } open) return;
        thawed = true;
        open.Cancel();
    }

    void Disconnected()
    {
        if (!connected) return;
        connected = false;
        cache.Clear();
    }
}
