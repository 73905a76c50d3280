using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Blog.Api.Data;
using Blog.Api.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Blog.Api.Tests.Deployment;

/// <summary>
/// The previous release (.ci/previous-release; scripts/test publishes it) on a database this
/// build migrated, as it runs during a rolling deploy and after a rollback (Fly redeploys the
/// previous image onto the migrated database): every endpoint answers right, tokens issued by
/// either release work on both, and both show the same counts.
/// </summary>
public sealed class PreviousReleaseTests
{
    public const string BinaryVariable = "BLOG_PREVIOUS_BINARY";

    static string PreviousBinary
    {
        get
        {
            var commit = File.ReadAllLines(Path.Combine(ServiceProcess.RepositoryRoot, ".ci", "previous-release")).First(line => !line.StartsWith('#')).Trim();
            var path = Environment.GetEnvironmentVariable(BinaryVariable) is { Length: > 0 } configured
                ? configured
                : Path.Combine(ServiceProcess.RepositoryRoot, "artifacts", "previous", commit, "Blog.Api");
            return File.Exists(path) ? path : throw new FileNotFoundException($"The previous release's binary is missing at {path}: scripts/test publishes it (or set {BinaryVariable}).");
        }
    }

    static Task<ServiceProcess> StartPreviousAsync(string database) =>
        ServiceProcess.StartHealthyAsync(ServiceProcess.EnvironmentFor(database, Processes.FreePort()), binary: PreviousBinary);

    static Task<ServiceProcess> StartThisAsync(string database) => ServiceProcess.StartHealthyAsync(ServiceProcess.EnvironmentFor(database, Processes.FreePort()));

    sealed class Client(HttpClient http)
    {
        public async Task<(HttpStatusCode Status, JsonElement Json)> SendAsync(HttpMethod method, string path, object? body = null, string? token = null, string scheme = "Token")
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null) request.Content = JsonContent.Create(body);
            if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", scheme.Length == 0 ? token : $"{scheme} {token}");
            using var reply = await http.SendAsync(request);
            var text = await reply.Content.ReadAsStringAsync();
            return (reply.StatusCode, text.Length > 0 && reply.Content.Headers.ContentType?.MediaType == "application/json" ? JsonDocument.Parse(text).RootElement.Clone() : default);
        }

        public async Task<JsonElement> ExpectAsync(HttpStatusCode status, HttpMethod method, string path, object? body = null, string? token = null, string scheme = "Token")
        {
            var (actual, json) = await SendAsync(method, path, body, token, scheme);
            Assert.True(actual == status, $"{method} {path}: expected {(int)status}, got {(int)actual} {json}");
            return json;
        }

        public async Task<(string Username, string Token)> SignUpAsync(string name)
        {
            var user = (await ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/api/users", new { user = new { username = name, email = $"{name}@example.com", password = "previous release" } })).GetProperty("user");
            Assert.Equal(name, user.GetProperty("username").GetString());
            return (name, user.GetProperty("token").GetString()!);
        }
    }

    [Fact]
    public async Task Every_endpoint_of_the_previous_release_answers_right_on_this_builds_schema()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("previous");
        await using var previous = await StartPreviousAsync(database);
        var api = new Client(previous.Client);
        Assert.Equal(HttpStatusCode.OK, (await api.SendAsync(HttpMethod.Get, "/health/ready")).Status);

        var (ada, adaToken) = await api.SignUpAsync("ada");
        var (grace, graceToken) = await api.SignUpAsync("grace");
        var login = await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/users/login", new { user = new { email = "ada@example.com", password = "previous release" } });
        Assert.Equal("ada", login.GetProperty("user").GetProperty("username").GetString());
        Assert.Equal("Analyst", (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, "/api/user", new { user = new { bio = "Analyst" } }, adaToken)).GetProperty("user").GetProperty("bio").GetString());
        Assert.Equal("Analyst", (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/user", token: adaToken)).GetProperty("user").GetProperty("bio").GetString());

        var article = (await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/api/articles",
            new { article = new { title = "Notes on the Engine", description = "d", body = "b", tagList = new[] { "engines", "math" } } }, adaToken)).GetProperty("article");
        var slug = article.GetProperty("slug").GetString()!;
        Assert.Equal(["engines", "math"], article.GetProperty("tagList").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal(0, article.GetProperty("favoritesCount").GetInt32());
        Assert.Equal("Notes on the Engine", (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/articles/{slug}")).GetProperty("article").GetProperty("title").GetString());

        var favorited = (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/articles/{slug}/favorite", token: graceToken)).GetProperty("article");
        Assert.True(favorited.GetProperty("favorited").GetBoolean());
        Assert.Equal(1, favorited.GetProperty("favoritesCount").GetInt32());
        Assert.Equal(1, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/articles?favorited={grace}")).GetProperty("articlesCount").GetInt32());
        Assert.Equal(1, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/articles?tag=math")).GetProperty("articles")[0].GetProperty("favoritesCount").GetInt32());
        Assert.Equal(0, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/articles/{slug}/favorite", token: graceToken)).GetProperty("article").GetProperty("favoritesCount").GetInt32());

        Assert.True((await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/profiles/{ada}/follow", token: graceToken)).GetProperty("profile").GetProperty("following").GetBoolean());
        Assert.Equal(slug, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/articles/feed", token: graceToken)).GetProperty("articles")[0].GetProperty("slug").GetString());
        Assert.Equal("Analyst", (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/profiles/{ada}")).GetProperty("profile").GetProperty("bio").GetString());
        Assert.False((await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/profiles/{ada}/follow", token: graceToken)).GetProperty("profile").GetProperty("following").GetBoolean());

        var comment = (await api.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/articles/{slug}/comments", new { comment = new { body = "Splendid" } }, graceToken)).GetProperty("comment");
        Assert.Equal("Splendid", (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/articles/{slug}/comments")).GetProperty("comments")[0].GetProperty("body").GetString());
        await api.ExpectAsync(HttpStatusCode.NoContent, HttpMethod.Delete, $"/api/articles/{slug}/comments/{comment.GetProperty("id").GetInt64()}", token: graceToken);
        Assert.Contains("math", (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/tags")).GetProperty("tags").EnumerateArray().Select(t => t.GetString()));

        var renamed = (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, $"/api/articles/{slug}", new { article = new { title = "The Analytical Engine" } }, adaToken)).GetProperty("article");
        Assert.Equal("The Analytical Engine", renamed.GetProperty("title").GetString());
        await api.ExpectAsync(HttpStatusCode.NotFound, HttpMethod.Get, $"/api/articles/{slug}");
        await api.ExpectAsync(HttpStatusCode.Forbidden, HttpMethod.Delete, $"/api/articles/{renamed.GetProperty("slug").GetString()}", token: graceToken);
        await api.ExpectAsync(HttpStatusCode.NoContent, HttpMethod.Delete, $"/api/articles/{renamed.GetProperty("slug").GetString()}", token: adaToken);
        Assert.Equal(0, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/articles?author={ada}")).GetProperty("articlesCount").GetInt32());

        // The /api/v1 surface.
        var jwt = (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/user/signup", new { email = "lin@example.com", password = "previous release", name = "Lin" })).GetProperty("jwt").GetString()!;
        Assert.NotNull((await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/user/signin", new { email = "lin@example.com", password = "previous release" })).GetProperty("jwt").GetString());
        var id = (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/blog", new { title = "A v1 blog", content = "Its content" }, jwt, scheme: "")).GetProperty("id").GetString();
        await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Put, "/api/v1/blog", new { id, title = "A v1 blog, renamed" }, jwt, scheme: "");
        Assert.Equal("A v1 blog, renamed", (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/v1/blog/{id}", token: jwt, scheme: "")).GetProperty("blog").GetProperty("title").GetString());
        Assert.Equal(1, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/v1/blog/bulk", token: jwt, scheme: "")).GetProperty("blogs").GetArrayLength());

        // Its errors are still the contract's.
        Assert.Equal("has already been taken", (await api.ExpectAsync(HttpStatusCode.Conflict, HttpMethod.Post, "/api/users",
            new { user = new { username = "ada", email = "other@example.com", password = "previous release" } })).GetProperty("errors").GetProperty("username")[0].GetString());
        await api.ExpectAsync(HttpStatusCode.Unauthorized, HttpMethod.Get, "/api/user");
    }

    [Fact]
    public async Task Both_releases_on_one_database_take_each_others_tokens_and_show_the_same_counts()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("previousandthis");
        await using var previousProcess = await StartPreviousAsync(database);
        await using var thisProcess = await StartThisAsync(database);
        var (previous, current) = (new Client(previousProcess.Client), new Client(thisProcess.Client));

        var (old, oldToken) = await previous.SignUpAsync("old");
        var (young, youngToken) = await current.SignUpAsync("young");
        var v1Old = (await previous.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/user/signin", new { email = "old@example.com", password = "previous release" })).GetProperty("jwt").GetString()!;
        var v1Young = (await current.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/user/signin", new { email = "young@example.com", password = "previous release" })).GetProperty("jwt").GetString()!;

        // Each release's tokens, read and written with on the other.
        Assert.Equal(old, (await current.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/user", token: oldToken)).GetProperty("user").GetProperty("username").GetString());
        Assert.Equal(young, (await previous.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/user", token: youngToken)).GetProperty("user").GetProperty("username").GetString());
        var slug = (await current.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, "/api/articles", new { article = new { title = "Shared", description = "d", body = "b" } }, oldToken)).GetProperty("article").GetProperty("slug").GetString()!;
        await previous.ExpectAsync(HttpStatusCode.Created, HttpMethod.Post, $"/api/articles/{slug}/comments", new { comment = new { body = "from the new release's user" } }, youngToken);
        await current.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/blog", new { title = "v1 on this", content = "c" }, v1Old, scheme: "");
        await previous.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, "/api/v1/blog", new { title = "v1 on the previous", content = "c" }, v1Young, scheme: "");

        // Favorites through both: the count both answer is the count of rows.
        await previous.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/articles/{slug}/favorite", token: youngToken);
        await current.ExpectAsync(HttpStatusCode.OK, HttpMethod.Post, $"/api/articles/{slug}/favorite", token: oldToken);
        foreach (var api in new[] { previous, current })
        {
            Assert.Equal(2, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/articles/{slug}")).GetProperty("article").GetProperty("favoritesCount").GetInt32());
            Assert.Equal(2, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/articles?author={old}")).GetProperty("articles").EnumerateArray().First(a => a.GetProperty("slug").GetString() == slug).GetProperty("favoritesCount").GetInt32());
            Assert.True((await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/articles/{slug}", token: youngToken)).GetProperty("article").GetProperty("favorited").GetBoolean());
        }
        Assert.Equal(1, (await previous.ExpectAsync(HttpStatusCode.OK, HttpMethod.Delete, $"/api/articles/{slug}/favorite", token: oldToken)).GetProperty("article").GetProperty("favoritesCount").GetInt32());
        Assert.Equal(1, (await current.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, $"/api/articles/{slug}")).GetProperty("article").GetProperty("favoritesCount").GetInt32());
    }

    [Fact]
    public async Task The_previous_release_answers_right_while_this_build_migrates_and_backfills_under_it()
    {
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();
        await using var db = NpgsqlDataSource.Create(database);
        await Migrations.ApplyAsync(db, through: 8);  // the previous release's schema
        await using (var connection = await db.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("""
                INSERT INTO users (username, email, password_hash) SELECT 'u' || i, 'u' || i || '@example.com', 'x' FROM generate_series(1, 20) AS i;
                INSERT INTO articles (slug, title, description, body, author_id) SELECT 'a-' || i, 'A', 'd', 'b', 1 + i % 20 FROM generate_series(1, 2000) AS i;
                INSERT INTO favorites (user_id, article_id) SELECT u, a FROM generate_series(1, 20) AS u, generate_series(1, 2000) AS a WHERE (u + a) % 3 = 0;
                """);
        }
        await using var previousProcess = await StartPreviousAsync(database);
        var previous = new Client(previousProcess.Client);
        var (_, token) = await previous.SignUpAsync("reader");

        using var stop = new CancellationTokenSource();
        var failures = new List<string>();
        var served = 0;
        var load = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var slug = $"a-{1 + i % 2000}";
                var path = i % 3 == 0 ? "/api/articles?limit=20&offset=" + (i % 100) : $"/api/articles/{slug}";
                var (status, _) = i % 5 == 0
                    ? await previous.SendAsync(i % 10 == 0 ? HttpMethod.Post : HttpMethod.Delete, $"/api/articles/{slug}/favorite", token: token)
                    : await previous.SendAsync(HttpMethod.Get, path);
                if (status != HttpStatusCode.OK) lock (failures) failures.Add($"{path}: {(int)status}");
                Interlocked.Increment(ref served);
            }
        });
        await Task.Delay(300);
        var batches = Migrations.Embedded.Select(m => m.Version == 9 ? new Migrations.Migration(9, m.Name, m.Script.Replace("($1, 5000)", "($1, 100)")) : m).ToArray();
        await Migrations.ApplyAsync(db, batches);
        await Task.Delay(300);
        await stop.CancelAsync();
        await load;

        Assert.Empty(failures);
        Assert.True(served > 50, $"{served} requests");
        // The counts the backfill filled, with the favorites written meanwhile, are the counts of rows; both releases answer them.
        await using var check = await db.OpenConnectionAsync();
        Assert.Equal(0, await check.ExecuteScalarAsync<long>("SELECT count(*) FROM articles a WHERE favorites_count IS DISTINCT FROM (SELECT count(*) FROM favorites f WHERE f.article_id = a.id)"));
        await using var thisProcess = await StartThisAsync(database);
        var current = new Client(thisProcess.Client);
        var expected = await check.ExecuteScalarAsync<long>("SELECT count(*) FROM favorites WHERE article_id = (SELECT id FROM articles WHERE slug = 'a-10')");
        foreach (var api in new[] { previous, current })
        {
            Assert.Equal(expected, (await api.ExpectAsync(HttpStatusCode.OK, HttpMethod.Get, "/api/articles/a-10")).GetProperty("article").GetProperty("favoritesCount").GetInt64());
        }
    }
}
