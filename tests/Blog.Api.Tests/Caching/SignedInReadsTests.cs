using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Npgsql;
using Xunit.Abstractions;

namespace Blog.Api.Tests.Caching;

/// <summary>
/// Signed-in reads answered from the edge cache: the shared rows with each reader's flags laid
/// over (Caching/Viewers). Binaries on one database: A and B with the cache and its listener,
/// and D with the cache off, the database path, which every answer of A must equal.
/// </summary>
public sealed class SignedInReadsTests(ITestOutputHelper output)
{
    sealed class Instances : IAsyncDisposable
    {
        public required string Database { get; init; }
        public required ServiceProcess A { get; init; }
        public required ServiceProcess B { get; init; }
        public required ServiceProcess D { get; init; }
        public required int MetricsA { get; init; }
        public required int MetricsB { get; init; }
        public required TcpProxy ListenerB { get; init; }
        /// <summary>With peers: A pushes its writes to B through this proxy (B pushes to A directly).</summary>
        public TcpProxy? PeerB { get; init; }
        public int PeerPortB { get; init; }

        public async ValueTask DisposeAsync()
        {
            foreach (var service in new[] { A, B, D }) await service.DisposeAsync();
            await ListenerB.DisposeAsync();
            if (PeerB is not null) await PeerB.DisposeAsync();
        }
    }

    /// <param name="hearingDelay">When given, A's listener hears through B's proxy too, with this delay: both hear each change at the same moment, later than the writes answer.</param>
    /// <param name="peers">A and B are each other's region peers (PEER_PORT, PEERS): a write is pushed to the other before it answers.</param>
    static async Task<Instances> StartAsync(string label, string cacheSeconds = "60", TimeSpan? hearingDelay = null, bool peers = false)
    {
        var server = await PostgresServer.Instance;
        var (database, _) = await server.CreateDatabaseAsync(label);
        var direct = new NpgsqlConnectionStringBuilder(database);
        var listenerB = new TcpProxy(direct.Host!, direct.Port) { Delay = hearingDelay ?? TimeSpan.Zero };
        var heardByB = new NpgsqlConnectionStringBuilder(database) { Port = listenerB.Port }.ConnectionString;
        Dictionary<string, string?> Environment(string? listener)
        {
            var environment = ServiceProcess.EnvironmentFor(server.ServiceConnectionString(database), Processes.FreePort());
            if (listener is not null) environment["DIRECT_DATABASE_URL"] = listener;
            environment["CACHE_SECONDS"] = listener is null ? "0" : cacheSeconds;
            environment["AUTH_RATE_LIMIT"] = "100000";
            return environment;
        }
        var (metricsA, metricsB) = (Processes.FreePort(), Processes.FreePort());
        var forA = Environment(hearingDelay is null ? database : heardByB);
        forA["METRICS_PORT"] = $"{metricsA}";
        var forB = Environment(heardByB);
        forB["METRICS_PORT"] = $"{metricsB}";
        var (peerA, peerB) = (Processes.FreePort(), Processes.FreePort());
        var peerProxy = peers ? new TcpProxy("127.0.0.1", peerB) : null;
        if (peerProxy is not null)
        {
            (forA["PEER_PORT"], forA["PEERS"]) = ($"{peerA}", $"127.0.0.1:{peerProxy.Port}");
            (forB["PEER_PORT"], forB["PEERS"]) = ($"{peerB}", $"127.0.0.1:{peerA}, 127.0.0.1:{peerB}");  // itself too, as Fly's DNS name lists every Machine
        }
        return new Instances
        {
            Database = database,
            A = await ServiceProcess.StartHealthyAsync(forA),
            B = await ServiceProcess.StartHealthyAsync(forB),
            D = await ServiceProcess.StartHealthyAsync(Environment(null)),
            MetricsA = metricsA,
            MetricsB = metricsB,
            ListenerB = listenerB,
            PeerB = peerProxy,
            PeerPortB = peerB,
        };
    }

    static async Task<(HttpStatusCode Status, string Text)> SendAsync(HttpClient client, HttpMethod method, string path, string? token = null, object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", $"Token {token}");
        using var reply = await client.SendAsync(request);
        return (reply.StatusCode, await reply.Content.ReadAsStringAsync());
    }

    static async Task<(string Name, string Token)> SignUpAsync(HttpClient client, string name)
    {
        var (status, text) = await SendAsync(client, HttpMethod.Post, "/api/users", body: new { user = new { username = name, email = $"{name}@example.com", password = "signed-in reads" } });
        Assert.Equal(HttpStatusCode.Created, status);
        return (name, JsonDocument.Parse(text).RootElement.GetProperty("user").GetProperty("token").GetString()!);
    }

    static async Task<string> SignInAsync(HttpClient client, string name, string password = "signed-in reads")
    {
        var (status, text) = await SendAsync(client, HttpMethod.Post, "/api/users/login", body: new { user = new { email = $"{name}@example.com", password } });
        Assert.Equal(HttpStatusCode.OK, status);
        return JsonDocument.Parse(text).RootElement.GetProperty("user").GetProperty("token").GetString()!;
    }

    /// <summary>The sum of a counter's series on A's /metrics (or B's) whose labels contain <paramref name="label"/>.</summary>
    static async Task<double> CounterAsync(Instances instances, string name, string label, bool onB = false)
    {
        using var client = new HttpClient();
        var text = await client.GetStringAsync($"http://127.0.0.1:{(onB ? instances.MetricsB : instances.MetricsA)}/metrics");
        return text.Split('\n').Where(line => line.StartsWith(name + "{", StringComparison.Ordinal) && line.Contains(label, StringComparison.Ordinal))
            .Sum(line => double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>Reads until A answers <paramref name="token"/>'s viewer from its entry (the first read loads it in the background).</summary>
    static async Task WarmAsync(Instances instances, ServiceProcess service, string token)
    {
        var deadline = Stopwatch.StartNew();
        var hits = await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"hit\"");
        while (true)
        {
            await SendAsync(service.Client, HttpMethod.Get, "/api/articles", token);
            if (service != instances.A || await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"hit\"") > hits) return;
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "the viewer entry was never loaded");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Randomized_reads_and_writes_answer_every_signed_in_reader_exactly_as_the_database_path_does()
    {
        await using var instances = await StartAsync("signedin");
        var (a, b, d) = (instances.A.Client, instances.B.Client, instances.D.Client);
        var random = new Random(20261206);
        var users = new List<(string Name, string Token)>();
        for (var i = 0; i < 6; i++) users.Add(await SignUpAsync(a, $"reader{i}"));
        var sessions = users.Select(u => u.Token).Concat(await Task.WhenAll(users.Take(3).Select(u => SignInAsync(b, u.Name)))).ToList();
        var slugs = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            var author = users[random.Next(users.Count)];
            var (_, text) = await SendAsync(a, HttpMethod.Post, "/api/articles", author.Token,
                new { article = new { title = $"Article {i}", description = "d", body = $"body {i}", tagList = new[] { $"tag{i % 3}" } } });
            slugs.Add(JsonDocument.Parse(text).RootElement.GetProperty("article").GetProperty("slug").GetString()!);
        }

        var (compared, hitsBefore) = (0, await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\""));
        for (var step = 0; step < 600; step++)
        {
            var (who, token) = users[random.Next(users.Count)];
            var slug = slugs[random.Next(slugs.Count)];
            var writer = random.Next(4) == 0 ? b : a;  // a write on B reaches A through the change feed
            switch (random.Next(10))
            {
                case 0:
                    await SendAsync(writer, random.Next(2) == 0 ? HttpMethod.Post : HttpMethod.Delete, $"/api/articles/{slug}/favorite", token);
                    break;
                case 1:
                    await SendAsync(writer, random.Next(2) == 0 ? HttpMethod.Post : HttpMethod.Delete, $"/api/profiles/{users[random.Next(users.Count)].Name}/follow", token);
                    break;
                case 2:
                    await SendAsync(writer, HttpMethod.Post, $"/api/articles/{slug}/comments", token, new { comment = new { body = $"comment {step}" } });
                    break;
                case 3:
                    await SendAsync(writer, HttpMethod.Put, "/api/user", token, new { user = new { bio = $"bio {step}" } });
                    break;
                default:
                    if (writer == b) await Task.Delay(50);  // B's last write reaches A within the cache's bound
                    var path = random.Next(4) switch
                    {
                        0 => $"/api/articles/{slug}",
                        1 => $"/api/profiles/{users[random.Next(users.Count)].Name}",
                        2 => $"/api/articles/{slug}/comments",
                        _ => random.Next(4) switch
                        {
                            0 => "/api/articles",
                            1 => $"/api/articles?tag=tag{random.Next(3)}",
                            2 => $"/api/articles?author={users[random.Next(users.Count)].Name}&limit=5",
                            _ => $"/api/articles?favorited={users[random.Next(users.Count)].Name}&offset={random.Next(3)}",
                        },
                    };
                    var reader = sessions[random.Next(sessions.Count)];
                    var fromCache = await SendAsync(a, HttpMethod.Get, path, reader);
                    var fromDatabase = await SendAsync(d, HttpMethod.Get, path, reader);
                    Assert.True(fromCache == fromDatabase, $"step {step}, {path}:\n  cache    {fromCache}\n  database {fromDatabase}");
                    compared++;
                    break;
            }
        }
        var hits = await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"hit\"") ;
        output.WriteLine($"{compared} signed-in answers compared, all identical; {hits} of them answered from the cache");
        Assert.True(compared > 300);
        Assert.True(hits > 50, $"only {hits} of {compared} were cache hits");  // every write evicts: a fair share, not most
        Assert.True(await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\"") > hitsBefore);
    }

    [Fact]
    public async Task A_password_change_on_one_instance_refuses_the_other_sessions_reads_on_another_within_the_bound()
    {
        await using var instances = await StartAsync("revoked");
        var (name, first) = await SignUpAsync(instances.A.Client, "changer");
        var second = await SignInAsync(instances.B.Client, name);
        await WarmAsync(instances, instances.B, second);
        await WarmAsync(instances, instances.B, first);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.B.Client, HttpMethod.Get, "/api/articles", second)).Status);

        var (_, created) = await SendAsync(instances.A.Client, HttpMethod.Post, "/api/articles", first, new { article = new { title = "Before the change", description = "d", body = "b" } });
        var slug = JsonDocument.Parse(created).RootElement.GetProperty("article").GetProperty("slug").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, HttpMethod.Put, "/api/user", first, new { user = new { password = "changed on A" } })).Status);

        // The database path (D keeps no cache) refuses it at once, in each read's own statement.
        string[] reads = ["/api/articles", "/api/articles/feed", $"/api/articles/{slug}", $"/api/articles/{slug}/comments", "/api/profiles/changer", "/api/user"];
        foreach (var path in reads)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(instances.D.Client, HttpMethod.Get, path, second)).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.D.Client, HttpMethod.Get, path, first)).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.D.Client, HttpMethod.Get, path.Replace("/feed", "", StringComparison.Ordinal).Replace("/api/user", "/api/tags", StringComparison.Ordinal), null)).Status);
        }

        var clock = Stopwatch.StartNew();
        while ((await SendAsync(instances.B.Client, HttpMethod.Get, "/api/articles", second)).Status != HttpStatusCode.Unauthorized)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "B kept answering a signed-out session's reads");
            await Task.Delay(5);
        }
        output.WriteLine($"refused on B {clock.ElapsedMilliseconds} ms after the change on A");
        foreach (var path in reads)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(instances.B.Client, HttpMethod.Get, path, second)).Status);
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.B.Client, HttpMethod.Get, path, first)).Status);  // the session that changed it
        }
    }

    [Fact]
    public async Task A_readers_own_favorite_and_follow_show_in_their_next_read_from_the_cache_and_soon_on_another_instance()
    {
        await using var instances = await StartAsync("own");
        var (author, authorToken) = await SignUpAsync(instances.A.Client, "author");
        var (_, token) = await SignUpAsync(instances.A.Client, "fan");
        var (_, text) = await SendAsync(instances.A.Client, HttpMethod.Post, "/api/articles", authorToken, new { article = new { title = "Liked", description = "d", body = "b" } });
        var slug = JsonDocument.Parse(text).RootElement.GetProperty("article").GetProperty("slug").GetString()!;
        await WarmAsync(instances, instances.A, token);
        await SendAsync(instances.A.Client, HttpMethod.Get, $"/api/profiles/{author}", token);  // the shared row is kept

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, HttpMethod.Post, $"/api/articles/{slug}/favorite", token)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, HttpMethod.Post, $"/api/profiles/{author}/follow", token)).Status);
        var viewerHits = await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"hit\"");
        var (_, article) = await SendAsync(instances.A.Client, HttpMethod.Get, $"/api/articles/{slug}", token);  // its count changed: from the database
        var hits = await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"hit\"");
        var (_, profile) = await SendAsync(instances.A.Client, HttpMethod.Get, $"/api/profiles/{author}", token);  // a follow changes no shared row

        Assert.True(JsonDocument.Parse(article).RootElement.GetProperty("article").GetProperty("favorited").GetBoolean());
        Assert.True(JsonDocument.Parse(article).RootElement.GetProperty("article").GetProperty("author").GetProperty("following").GetBoolean());
        Assert.True(JsonDocument.Parse(profile).RootElement.GetProperty("profile").GetProperty("following").GetBoolean());
        Assert.True(await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"hit\"") >= viewerHits + 2, "the reader's entry was not kept, updated, through their own writes");
        Assert.True(await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"hit\"") >= hits + 1, "the profile was not answered from the cache");

        var clock = Stopwatch.StartNew();
        while (!JsonDocument.Parse((await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/articles/{slug}", token)).Text).RootElement.GetProperty("article").GetProperty("favorited").GetBoolean())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), "B never showed the reader's favorite");
            await Task.Delay(5);
        }
    }

    /// <summary>
    /// Many readers at once: eight users toggle their favorite of two shared articles and their
    /// follow of one shared author, through A, while B writes the same articles' comments and
    /// A hears every write of all of them on its listener. After each of their own writes, each
    /// reads through A at once (the article, the list, the author's profile) and must see their
    /// own state, served from their viewer entry: the instance's own update and the listener's
    /// eviction of the same viewer race in every step.
    /// </summary>
    [Fact]
    public async Task Concurrent_readers_each_see_their_own_writes_in_their_next_read_from_the_cache()
    {
        await using var instances = await StartAsync("concurrent");
        var (author, authorToken) = await SignUpAsync(instances.A.Client, "shared");
        var slugs = new List<string>();
        foreach (var title in new[] { "First shared", "Second shared" })
        {
            var (_, text) = await SendAsync(instances.A.Client, HttpMethod.Post, "/api/articles", authorToken, new { article = new { title, description = "d", body = "b" } });
            slugs.Add(JsonDocument.Parse(text).RootElement.GetProperty("article").GetProperty("slug").GetString()!);
        }
        var readers = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            var (_, token) = await SignUpAsync(instances.A.Client, $"crowd{i}");
            await WarmAsync(instances, instances.A, token);
            readers.Add(token);
        }
        var hitsBefore = await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"hit\"");

        using var stop = new CancellationTokenSource();
        var commenter = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                await SendAsync(instances.B.Client, HttpMethod.Post, $"/api/articles/{slugs[i % 2]}/comments", authorToken, new { comment = new { body = $"meanwhile {i}" } });
            }
        });
        var stale = new System.Collections.Concurrent.ConcurrentBag<string>();
        var reads = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, readers.Count), new ParallelOptions { MaxDegreeOfParallelism = readers.Count }, async (who, _) =>
        {
            var token = readers[who];
            var favorited = new bool[slugs.Count];
            var following = false;
            for (var step = 0; step < 30; step++)
            {
                var which = (who + step) % slugs.Count;
                favorited[which] = !favorited[which];
                Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, favorited[which] ? HttpMethod.Post : HttpMethod.Delete, $"/api/articles/{slugs[which]}/favorite", token)).Status);
                if (step % 3 == 0)
                {
                    following = !following;
                    Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, following ? HttpMethod.Post : HttpMethod.Delete, $"/api/profiles/{author}/follow", token)).Status);
                }
                var article = JsonDocument.Parse((await SendAsync(instances.A.Client, HttpMethod.Get, $"/api/articles/{slugs[which]}", token)).Text).RootElement.GetProperty("article");
                if (article.GetProperty("favorited").GetBoolean() != favorited[which] || article.GetProperty("author").GetProperty("following").GetBoolean() != following)
                {
                    stale.Add($"reader {who}, step {step}: article {article}");
                }
                foreach (var listed in JsonDocument.Parse((await SendAsync(instances.A.Client, HttpMethod.Get, "/api/articles", token)).Text).RootElement.GetProperty("articles").EnumerateArray())
                {
                    var index = slugs.IndexOf(listed.GetProperty("slug").GetString()!);
                    if (index >= 0 && listed.GetProperty("favorited").GetBoolean() != favorited[index]) stale.Add($"reader {who}, step {step}: listed {listed}");
                }
                var profile = JsonDocument.Parse((await SendAsync(instances.A.Client, HttpMethod.Get, $"/api/profiles/{author}", token)).Text).RootElement.GetProperty("profile");
                if (profile.GetProperty("following").GetBoolean() != following) stale.Add($"reader {who}, step {step}: profile {profile}");
                Interlocked.Add(ref reads, 3);
            }
        });
        await stop.CancelAsync();
        await commenter;

        var hits = await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"hit\"") - hitsBefore;
        output.WriteLine($"{reads} reads by 8 concurrent readers, each right after their own write: {stale.Count} stale; {hits} answered with a viewer entry");
        Assert.True(stale.IsEmpty, string.Join("\n", stale.Take(10)));
        Assert.True(hits >= reads / 2, $"only {hits} of {reads} reads used a viewer entry: the cache path was not what was tested");
    }

    /// <summary>
    /// The goal "the reader's own favorite or follow in their very next read, any instance of the
    /// region", with region peers (RegionPeers): both instances hear the change feed 30 ms after a
    /// commit (one proxy delays both), later than the write answers, so only A's push can have
    /// evicted the writer's old state on B. Every write's next read through B shows it: the
    /// reader's favorite (and the count), their follow, their comment, the author's edit, and
    /// a password change (the reader's other session is refused on B at once).
    /// </summary>
    [Fact]
    public async Task With_region_peers_a_writers_next_read_on_another_instance_always_shows_the_write()
    {
        await using var instances = await StartAsync("peers", hearingDelay: TimeSpan.FromMilliseconds(30), peers: true);
        var (author, authorToken, slug, token) = await RegionScenarioAsync(instances);
        var hitsOnB = await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"hit\"", onB: true);

        var (stale, reads) = (new List<string>(), 0);
        for (var i = 0; i < 30; i++)
        {
            await WarmBAsync(instances, author, slug, token);
            var on = i % 2 == 0;
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, on ? HttpMethod.Post : HttpMethod.Delete, $"/api/articles/{slug}/favorite", token)).Status);
            var article = await ArticleAsync(instances.B, slug, token);
            if (article.GetProperty("favorited").GetBoolean() != on || article.GetProperty("favoritesCount").GetInt32() != (on ? 1 : 0)) stale.Add($"favorite {i}: {article}");

            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, on ? HttpMethod.Post : HttpMethod.Delete, $"/api/profiles/{author}/follow", token)).Status);
            var profile = JsonDocument.Parse((await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/profiles/{author}", token)).Text).RootElement.GetProperty("profile");
            if (profile.GetProperty("following").GetBoolean() != on) stale.Add($"follow {i}: {profile}");

            Assert.Equal(HttpStatusCode.Created, (await SendAsync(instances.A.Client, HttpMethod.Post, $"/api/articles/{slug}/comments", token, new { comment = new { body = $"said {i}" } })).Status);
            var comments = JsonDocument.Parse((await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/articles/{slug}/comments", token)).Text).RootElement.GetProperty("comments");
            if (!comments.EnumerateArray().Any(comment => comment.GetProperty("body").GetString() == $"said {i}")) stale.Add($"comment {i}: not among {comments.GetArrayLength()}");

            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, HttpMethod.Put, $"/api/articles/{slug}", authorToken, new { article = new { body = $"edit {i}" } })).Status);
            var edited = await ArticleAsync(instances.B, slug, authorToken);
            if (edited.GetProperty("body").GetString() != $"edit {i}") stale.Add($"edit {i}: {edited.GetProperty("body")}");
            reads += 4;
        }
        var hits = await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"hit\"", onB: true) - hitsOnB;
        var pushed = await CounterAsync(instances, "blog_cache_peer_pushes_seconds_count", "result=\"evicted\"");
        var failed = string.Join(", ", await Task.WhenAll(new[] { "refused", "unreachable", "timed_out" }.Select(async result => $"{result} {await CounterAsync(instances, "blog_cache_peer_pushes_seconds_count", $"result=\"{result}\"")}")));
        output.WriteLine($"{reads} writes on A, each read back at once on B: {stale.Count} stale; B answered {hits} signed-in reads from its cache; A's pushes evicted: {pushed}; {failed}");
        Assert.True(stale.Count == 0, string.Join("\n", stale));
        Assert.True(hits >= reads, $"B answered only {hits} signed-in reads from its cache: the cache path was not what was tested");
        Assert.True(pushed >= reads, $"A pushed only {pushed} of {reads} writes to B");

        // A password change on A signs the reader's other session out of B before it answers.
        var second = await SignInAsync(instances.B.Client, "roamer");
        await WarmBAsync(instances, author, slug, second);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, HttpMethod.Put, "/api/user", token, new { user = new { password = "changed on A" } })).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/articles/{slug}", second)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/articles/{slug}", token)).Status);
    }

    /// <summary>
    /// Faults between peers: B stops answering A's pushes (its packets are dropped), then refuses
    /// them, then comes back. Every write still answers 200; a peer that did not answer costs one
    /// write the wait (at most RegionPeers.Wait, 1 s) and no more, since the writes after it
    /// do not wait for it; and once B answers a push again, A waits for it again, so the next
    /// reads on B are exact again.
    /// </summary>
    [Fact]
    public async Task A_peer_that_does_not_answer_costs_one_write_the_wait_and_no_more()
    {
        await using var instances = await StartAsync("peer-faults", hearingDelay: TimeSpan.FromMilliseconds(30), peers: true);
        var (_, _, slug, token) = await RegionScenarioAsync(instances);
        var peerB = instances.PeerB!;

        async Task<double> FavoriteAsync(bool on)
        {
            var clock = Stopwatch.StartNew();
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, on ? HttpMethod.Post : HttpMethod.Delete, $"/api/articles/{slug}/favorite", token)).Status);
            return clock.Elapsed.TotalMilliseconds;
        }

        await FavoriteAsync(true);  // a connection to B is open
        peerB.Blackhole();
        var lost = new List<double>();
        for (var i = 0; i < 10; i++) lost.Add(await FavoriteAsync(i % 2 == 1));
        output.WriteLine($"B drops pushes: writes took {string.Join(", ", lost.Select(ms => $"{ms:F0}"))} ms");
        Assert.True(lost.Max() < 3000, "a write waited for an unanswering peer far beyond the bound");
        Assert.True(lost.Skip(1).Order().ElementAt(4) < 150, "the writes after the first kept waiting for a peer that does not answer");
        Assert.True(await CounterAsync(instances, "blog_cache_peer_pushes_seconds_count", "result=\"timed_out\"") >= 1);

        peerB.Cut();
        var refused = new List<double>();
        for (var i = 0; i < 5; i++) refused.Add(await FavoriteAsync(i % 2 == 1));
        output.WriteLine($"B refuses pushes: writes took {string.Join(", ", refused.Select(ms => $"{ms:F0}"))} ms");
        Assert.True(refused.Max() < 3000);
        Assert.True(await CounterAsync(instances, "blog_cache_peer_pushes_seconds_count", "result=\"unreachable\"") >= 1);

        peerB.Restore();
        var deadline = Stopwatch.StartNew();
        var evicted = await CounterAsync(instances, "blog_cache_peer_pushes_seconds_count", "result=\"evicted\"");
        var on = true;
        while (await CounterAsync(instances, "blog_cache_peer_pushes_seconds_count", "result=\"evicted\"") == evicted)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "A never reached B again");
            await FavoriteAsync(on = !on);
        }
        var stale = 0;
        for (var i = 0; i < 10; i++)
        {
            await WarmBAsync(instances, null, slug, token);
            await FavoriteAsync(on = !on);
            if ((await ArticleAsync(instances.B, slug, token)).GetProperty("favorited").GetBoolean() != on) stale++;
        }
        output.WriteLine($"B answers again: {stale} stale of 10");
        Assert.Equal(0, stale);
    }

    [Fact]
    public async Task Pushes_are_taken_only_on_the_peer_port_and_only_with_the_peers_key()
    {
        await using var instances = await StartAsync("peer-key", peers: true);
        using var peer = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{instances.PeerPortB}") };
        async Task<HttpStatusCode> PushAsync(HttpClient client, string? key)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/internal/changes") { Content = new StringContent("{\"xid\": \"1\", \"tags\": [\"*\"]}") };
            if (key is not null) request.Headers.Add("Peer-Key", key);
            using var reply = await client.SendAsync(request);
            return reply.StatusCode;
        }
        Assert.Equal(HttpStatusCode.Unauthorized, await PushAsync(peer, null));
        Assert.Equal(HttpStatusCode.Unauthorized, await PushAsync(peer, Convert.ToBase64String(new byte[32])));
        Assert.Equal(HttpStatusCode.Unauthorized, await PushAsync(peer, "not a key"));
        Assert.Equal(HttpStatusCode.NotFound, await PushAsync(instances.B.Client, null));
    }

    /// <summary>An author, an article of theirs, and a reader whose viewer entry A holds.</summary>
    static async Task<(string Author, string AuthorToken, string Slug, string Token)> RegionScenarioAsync(Instances instances)
    {
        var (author, authorToken) = await SignUpAsync(instances.A.Client, "penned");
        var (_, token) = await SignUpAsync(instances.A.Client, "roamer");
        var (_, text) = await SendAsync(instances.A.Client, HttpMethod.Post, "/api/articles", authorToken, new { article = new { title = "Far and near", description = "d", body = "b" } });
        var slug = JsonDocument.Parse(text).RootElement.GetProperty("article").GetProperty("slug").GetString()!;
        await WarmAsync(instances, instances.A, token);
        return (author, authorToken, slug, token);
    }

    /// <summary>B holds the shared rows and the reader's entry, as they are before the next write.</summary>
    static async Task WarmBAsync(Instances instances, string? author, string slug, string token)
    {
        for (var warm = 0; warm < 3; warm++)
        {
            await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/articles/{slug}", token);
            await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/articles/{slug}/comments", token);
            if (author is not null) await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/profiles/{author}", token);
            await Task.Delay(10);
        }
    }

    static async Task<JsonElement> ArticleAsync(ServiceProcess service, string slug, string token) =>
        JsonDocument.Parse((await SendAsync(service.Client, HttpMethod.Get, $"/api/articles/{slug}", token)).Text).RootElement.GetProperty("article");

    /// <summary>
    /// Without region peers, the writer's favorite and follow on A answer only once A has heard
    /// them on the change feed, so B, which hears at about the same moment, shows them in the next
    /// read (both hear 30 ms after a commit here, later than the write answers; without the wait
    /// every read would be stale). What is left is the skew between two listeners hearing one
    /// commit (two PostgreSQL sessions and two processes scheduled on two cores beside the
    /// suite): a few reads in a hundred here, each fresh a few ms later; the bound is asserted
    /// loosely, so that a loaded machine passes. With peers it is exact (the test above).
    /// </summary>
    [Fact]
    public async Task Without_region_peers_a_readers_own_writes_mostly_show_in_their_next_read_on_another_instance()
    {
        await using var instances = await StartAsync("region", hearingDelay: TimeSpan.FromMilliseconds(30));
        var (author, _, slug, token) = await RegionScenarioAsync(instances);

        var stale = 0;
        for (var i = 0; i < 40; i++)
        {
            await WarmBAsync(instances, author, slug, token);
            var on = i % 2 == 0;
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, on ? HttpMethod.Post : HttpMethod.Delete, $"/api/articles/{slug}/favorite", token)).Status);
            var article = await ArticleAsync(instances.B, slug, token);
            if (article.GetProperty("favorited").GetBoolean() != on || article.GetProperty("favoritesCount").GetInt32() != (on ? 1 : 0))
            {
                stale++;
                var late = Stopwatch.StartNew();
                while ((await ArticleAsync(instances.B, slug, token)).GetProperty("favorited").GetBoolean() != on) { }
                output.WriteLine($"write {i}: B answered {article}; fresh {late.Elapsed.TotalMilliseconds:F1} ms later");
            }

            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, on ? HttpMethod.Post : HttpMethod.Delete, $"/api/profiles/{author}/follow", token)).Status);
            var profile = JsonDocument.Parse((await SendAsync(instances.B.Client, HttpMethod.Get, $"/api/profiles/{author}", token)).Text).RootElement.GetProperty("profile");
            if (profile.GetProperty("following").GetBoolean() != on)
            {
                stale++;
                output.WriteLine($"write {i}: B answered {profile}");
            }
        }
        output.WriteLine($"80 writes on A, each read back at once on B: {stale} stale");
        Assert.True(stale <= 20, $"{stale} of 80 reads on B missed the reader's own write just answered on A");
    }

    /// <summary>
    /// Refresh-ahead: a viewer entry and a shared answer in steady use are read anew before they
    /// expire, by one reader while the others are still answered, so that their readers never
    /// all go to the database at once when the lifetime ends (that stall was the p99 of the bench).
    /// </summary>
    [Fact]
    public async Task Entries_in_steady_use_are_read_anew_before_they_expire_so_readers_keep_being_answered_from_the_cache()
    {
        await using var instances = await StartAsync("refresh", cacheSeconds: "2");
        var (name, token) = await SignUpAsync(instances.A.Client, "steady");
        await WarmAsync(instances, instances.A, token);
        var path = $"/api/profiles/{name}";
        await SendAsync(instances.A.Client, HttpMethod.Get, path, token);
        var (viewerMisses, misses, hits) = (await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"miss\""),
            await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"miss\""),
            await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"hit\""));

        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(5))  // two and a half lifetimes
        {
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(instances.A.Client, HttpMethod.Get, path, token)).Status);
            await Task.Delay(10);
        }

        var viewerMissed = await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"miss\"") - viewerMisses;
        var missed = await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"miss\"") - misses;
        var hit = await CounterAsync(instances, "blog_cache_lookups_total", "reader=\"signed_in\",result=\"hit\"") - hits;
        output.WriteLine($"over 5 s: viewer misses {viewerMissed}, answers read anew {missed}, answered from the cache {hit}");
        Assert.Equal(0, viewerMissed);  // without refresh-ahead, the entry expired at 2 s and 4 s
        Assert.InRange(missed, 1, 4);   // one reader every 1.6 s reads the answer anew
        Assert.True(hit > 100, $"{hit} answered from the cache");
    }

    [Fact]
    public async Task A_deaf_instance_and_a_reader_with_too_many_favorites_are_answered_from_the_database()
    {
        await using var instances = await StartAsync("bypass");
        var (name, token) = await SignUpAsync(instances.A.Client, "collector");
        await using (var connection = new NpgsqlConnection(instances.Database))
        {
            await connection.OpenAsync();
            await using var many = new NpgsqlCommand("""
                INSERT INTO articles (slug, title, description, body, author_id) SELECT 'many-' || i, 'Many ' || i, 'd', 'b', (SELECT id FROM users) FROM generate_series(1, 501) AS i;
                INSERT INTO favorites (user_id, article_id) SELECT (SELECT id FROM users), id FROM articles;
                """, connection);
            await many.ExecuteNonQueryAsync();
        }
        for (var i = 0; i < 3; i++)
        {
            var fromA = await SendAsync(instances.A.Client, HttpMethod.Get, "/api/articles?limit=3", token);
            Assert.Equal(await SendAsync(instances.D.Client, HttpMethod.Get, "/api/articles?limit=3", token), fromA);
            Assert.All(JsonDocument.Parse(fromA.Text).RootElement.GetProperty("articles").EnumerateArray(), a => Assert.True(a.GetProperty("favorited").GetBoolean()));
            await Task.Delay(100);
        }
        Assert.True(await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"bypass\"") >= 1, "the reader with 501 favorites was not sent to the database");

        // B cannot hear the change feed: nothing is served from its entries until it hears again.
        await WarmAsync(instances, instances.B, token);
        instances.ListenerB.Cut();
        await SendAsync(instances.A.Client, HttpMethod.Delete, "/api/articles/many-1/favorite", token);
        var (_, fromB) = await SendAsync(instances.B.Client, HttpMethod.Get, "/api/articles/many-1", token);
        Assert.False(JsonDocument.Parse(fromB).RootElement.GetProperty("article").GetProperty("favorited").GetBoolean());
        instances.ListenerB.Restore();
        _ = name;
    }

    [Fact]
    public async Task Ten_thousand_signed_in_readers_cost_the_instance_at_most_64_MB()
    {
        await using var instances = await StartAsync("tenthousand");
        var (_, authorToken) = await SignUpAsync(instances.A.Client, "writer");
        await SendAsync(instances.A.Client, HttpMethod.Post, "/api/articles", authorToken, new { article = new { title = "Read by many", description = "d", body = "b" } });
        await using (var connection = new NpgsqlConnection(instances.Database))
        {
            await connection.OpenAsync();
            await using var readers = new NpgsqlCommand("""
                INSERT INTO users (username, email, password_hash) SELECT 'many' || i, 'many' || i || '@example.com', 'x' FROM generate_series(1, 10000) AS i;
                INSERT INTO favorites (user_id, article_id) SELECT id, (SELECT min(id) FROM articles) FROM users WHERE id % 2 = 0;
                """, connection);
            await readers.ExecuteNonQueryAsync();
        }
        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(ApiFixture.JwtSecret));
        var handler = new JsonWebTokenHandler();
        string TokenFor(long id) => handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "blog-api", Audience = "blog-api", Expires = DateTime.UtcNow.AddHours(1),
            Subject = new ClaimsIdentity([new Claim("sub", id.ToString(System.Globalization.CultureInfo.InvariantCulture)), new Claim("ver", "1", ClaimValueTypes.Integer32)]),
            SigningCredentials = new SigningCredentials(key, SecurityAlgorithms.HmacSha256),
        });
        var ids = Enumerable.Range(2, 10000).Select(i => (long)i).ToArray();  // the writer is 1
        var tokens = ids.Select(TokenFor).ToArray();
        await Task.Delay(3000);
        var idle = Rss(instances.A.Id);

        // Each reader twice: the first read loads their entry, the second is answered from it.
        foreach (var round in new[] { 0, 1 })
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, tokens.Length), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                var (status, text) = await SendAsync(instances.A.Client, HttpMethod.Get, "/api/articles?limit=5", tokens[i]);
                Assert.Equal(HttpStatusCode.OK, status);
                if (round == 1 && i % 500 == 0)
                {
                    Assert.Equal(ids[i] % 2 == 0, JsonDocument.Parse(text).RootElement.GetProperty("articles")[0].GetProperty("favorited").GetBoolean());
                }
            });
        }
        var loaded = Rss(instances.A.Id);
        var viewerHits = await CounterAsync(instances, "blog_cache_viewer_lookups_total", "result=\"hit\"");
        output.WriteLine($"RSS idle {idle / 1024.0:F1} MB, with 10,000 signed-in readers {loaded / 1024.0:F1} MB; viewer hits {viewerHits}");
        Assert.True(loaded - idle <= 64 * 1024, $"{(loaded - idle) / 1024.0:F1} MB over idle");
        Assert.True(viewerHits >= 9000, $"only {viewerHits} reads were answered from viewer entries");
    }

    static long Rss(int pid) =>
        long.Parse(File.ReadLines($"/proc/{pid}/status").Single(line => line.StartsWith("VmRSS:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
}
