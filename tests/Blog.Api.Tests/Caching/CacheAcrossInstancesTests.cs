using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;
using Npgsql;

namespace Blog.Api.Tests.Caching;

/// <summary>
/// Two instances of the binary on one database, each with its edge cache and listener, as two
/// regions of one app: a write on one is seen by anonymous readers of the other at once, and
/// an instance that cannot hear the changes serves nothing from its cache.
/// </summary>
public sealed class CacheAcrossInstancesTests
{
    static readonly TimeSpan PropagationBound = TimeSpan.FromSeconds(1);

    sealed class Pair : IAsyncDisposable
    {
        public required string Database { get; init; }
        public required ServiceProcess A { get; init; }
        public required ServiceProcess B { get; init; }
        public TcpProxy? Proxy { get; init; }

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            if (Proxy is not null) await Proxy.DisposeAsync();
        }
    }

    /// <summary>A and B; B's listener reaches the database through a proxy the test can cut.</summary>
    static async Task<Pair> StartPairAsync(string label, Dictionary<string, string?>? forB = null)
    {
        var server = await PostgresServer.Instance;
        var (database, _) = await server.CreateDatabaseAsync(label);
        var direct = new NpgsqlConnectionStringBuilder(database);
        var proxy = new TcpProxy(direct.Host!, direct.Port);
        Dictionary<string, string?> Environment(string listenerUrl)
        {
            var environment = ServiceProcess.EnvironmentFor(server.ServiceConnectionString(database), Processes.FreePort());
            environment["DIRECT_DATABASE_URL"] = listenerUrl;
            environment["AUTH_RATE_LIMIT"] = "1000";
            return environment;
        }
        var viaProxy = new NpgsqlConnectionStringBuilder(database) { Host = "127.0.0.1", Port = proxy.Port }.ConnectionString;
        var environmentB = Environment(viaProxy);
        foreach (var (name, value) in forB ?? []) environmentB[name] = value;
        return new Pair
        {
            Database = database,
            A = await ServiceProcess.StartHealthyAsync(Environment(database)),
            B = await ServiceProcess.StartHealthyAsync(environmentB),
            Proxy = proxy,
        };
    }

    static async Task<string> RegisterAsync(HttpClient client)
    {
        var name = $"u{Guid.NewGuid():N}"[..16];
        using var reply = await client.PostAsJsonAsync("/api/users", new { user = new { username = name, email = $"{name}@example.com", password = "correct horse battery" } });
        Assert.Equal(HttpStatusCode.Created, reply.StatusCode);
        return (await reply.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("token").GetString()!;
    }

    static async Task<string> CreateArticleAsync(HttpClient client, string token, string title)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/articles")
        {
            Content = JsonContent.Create(new { article = new { title, description = "d", body = "b" } }),
        };
        request.Headers.Add("Authorization", $"Token {token}");
        using var reply = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, reply.StatusCode);
        return (await reply.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("article").GetProperty("slug").GetString()!;
    }

    static async Task<(long Count, bool Cached)> ListAsync(HttpClient client)
    {
        using var reply = await client.GetAsync("/api/articles");
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        return ((await reply.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("articlesCount").GetInt64(), reply.Headers.Age is not null);
    }

    /// <summary>Reads until the cache answers (the listener is connected), within 10 s.</summary>
    static async Task CachedAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if ((await ListAsync(client)).Cached) return;
            await Task.Delay(25);
        }
        Assert.Fail("The cache never answered: the listener did not connect.");
    }

    [Fact]
    public async Task A_write_on_one_instance_reaches_anonymous_readers_of_the_other_within_the_bound()
    {
        await using var pair = await StartPairAsync("propagation");
        var token = await RegisterAsync(pair.A.Client);
        await CachedAsync(pair.B.Client);
        var elapsed = new List<TimeSpan>();
        for (var i = 1; i <= 20; i++)
        {
            Assert.Equal((i - 1, true), await ListAsync(pair.B.Client));  // cached on B
            await CreateArticleAsync(pair.A.Client, token, $"Article {i}");
            var written = Stopwatch.StartNew();
            while ((await ListAsync(pair.B.Client)).Count != i)
            {
                Assert.True(written.Elapsed < PropagationBound, $"B still served the old list {written.Elapsed.TotalMilliseconds:F0} ms after the write");
                await Task.Delay(2);
            }
            elapsed.Add(written.Elapsed);
            Assert.Equal(i, (await ListAsync(pair.A.Client)).Count);  // the writer evicted before it answered
        }
        Assert.True(elapsed.Max() < PropagationBound);
    }

    [Fact]
    public async Task An_instance_that_cannot_hear_changes_bypasses_its_cache_and_drops_it_when_it_hears_again()
    {
        await using var pair = await StartPairAsync("listener-cut");
        var token = await RegisterAsync(pair.A.Client);
        await CreateArticleAsync(pair.A.Client, token, "Before the cut");
        await CachedAsync(pair.B.Client);

        pair.Proxy!.Cut();
        // B notices at once (the connection closes) and answers from the database only.
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while ((await ListAsync(pair.B.Client)).Cached) Assert.True(DateTime.UtcNow < deadline, "B kept serving from its cache after its listener was cut");
        for (var i = 2; i <= 4; i++)
        {
            await CreateArticleAsync(pair.A.Client, token, $"During the cut {i}");
            Assert.Equal((i, false), await ListAsync(pair.B.Client));
        }

        pair.Proxy.Restore();
        await CachedAsync(pair.B.Client);  // reconnected (with backoff)
        Assert.Equal(4, (await ListAsync(pair.B.Client)).Count);
        await CreateArticleAsync(pair.A.Client, token, "After the cut");
        var written = Stopwatch.StartNew();
        while ((await ListAsync(pair.B.Client)).Count != 5) Assert.True(written.Elapsed < PropagationBound, "B missed a change after it reconnected");
    }

    [Fact]
    public async Task An_idle_instance_closes_its_listener_so_the_database_can_sleep_and_a_request_reopens_it()
    {
        await using var pair = await StartPairAsync("idle-listener", new() { ["LISTEN_IDLE_SECONDS"] = "1" });
        var database = new NpgsqlConnectionStringBuilder(pair.Database).Database;
        async Task<long> Listeners()
        {
            await using var connection = new NpgsqlConnection(pair.Database);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'blog-listener' AND datname = @database", connection);
            command.Parameters.AddWithValue("database", database!);
            return (long)(await command.ExecuteScalarAsync())!;
        }
        async Task Eventually(long expected)
        {
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (await Listeners() != expected) { Assert.True(DateTime.UtcNow < deadline, $"expected {expected} listeners"); await Task.Delay(50); }
        }

        await CachedAsync(pair.A.Client);
        await CachedAsync(pair.B.Client);
        Assert.Equal(2, await Listeners());
        await Eventually(1);   // B, quiet for a second, closed its listener; A (300 s) keeps its
        Assert.False((await ListAsync(pair.B.Client)).Cached);  // closed: bypassed, and this request reopens it
        await Eventually(2);
        await Eventually(1);
    }
}
