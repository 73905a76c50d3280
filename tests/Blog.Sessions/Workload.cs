using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Blog.Sessions;

/// <summary>
/// Users who each write their own data, one request at a time, and read every write back at
/// once through every endpoint that shows it: the article by slug (anonymous and signed in), the
/// author's list, the favorite state and count (the article signed in and anonymous, the list of
/// favorites), the comments, the user and the profile, and a follow (the profile and the feed).
/// Every request goes into the <see cref="History"/>, and to one of the instances at random.
/// </summary>
public sealed class Workload(IReadOnlyList<HttpClient> instances, History history)
{
    static readonly string[] Kinds = ["article", "favorite", "comment", "bio", "follow"];

    sealed class User(int index, string username, string token)
    {
        public int Index { get; } = index;
        public string Username { get; } = username;
        public string Token { get; } = token;
        public string Fixed { get; set; } = "";  // the article its favorites and comments go to
        public User? Follows { get; set; }
        public int Articles, Favorites, Comments, Bios, FollowChanges;
    }

    /// <summary>Signs up <paramref name="count"/> users, each with an article, then runs them until <paramref name="stop"/>.</summary>
    public async Task RunAsync(int count, CancellationToken stop)
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var users = new User[count];
        for (var i = 0; i < count; i++)
        {
            var name = $"s{run}u{i}";
            var reply = await SendAsync(HttpMethod.Post, "/api/users", null, new { user = new { username = name, email = $"{name}@example.com", password = "session guarantees" } });
            users[i] = new User(i, name, reply.Json.GetProperty("user").GetProperty("token").GetString()!);
            users[i].Fixed = (await SendAsync(HttpMethod.Post, "/api/articles", users[i].Token, NewArticle(users[i], 0))).Json.GetProperty("article").GetProperty("slug").GetString()!;
            history.Initially(i, "latest", "a0");
            history.Initially(i, "favorite", "false,0");
            history.Initially(i, "comments", "none");
            history.Initially(i, "bio", "");
            history.Initially(i, "follow", "false");
        }
        for (var i = 0; i < count; i++) users[i].Follows = users[(i + 1) % count];
        await Task.WhenAll(users.Select(user => Task.Run(() => SessionAsync(user, stop), CancellationToken.None)));
    }

    static object NewArticle(User user, int n) => new { article = new { title = $"{user.Username} a{n}", description = "d", body = "b" } };

    async Task SessionAsync(User user, CancellationToken stop)
    {
        for (var step = 0; !stop.IsCancellationRequested; step++)
        {
            switch (Kinds[step % Kinds.Length])
            {
                case "article":
                    var n = ++user.Articles;
                    history.Initially(user.Index, $"article {n}", "missing");
                    var created = await WriteAsync(user, HttpMethod.Post, "/api/articles", NewArticle(user, n), ("latest", n, $"a{n}"), ($"article {n}", 1, "present"));
                    if (created is null) break;
                    var slug = created.Value.GetProperty("article").GetProperty("slug").GetString()!;
                    await ReadAsync(user, $"article {n}", $"/api/articles/{slug}", null, Present);
                    await ReadAsync(user, $"article {n}", $"/api/articles/{slug}", user.Token, Present);
                    await ReadAsync(user, "latest", $"/api/articles?author={user.Username}&limit=1", null, json => Newest(json, user));
                    break;
                case "favorite":
                    var favorite = ++user.Favorites % 2 == 1;
                    await WriteAsync(user, favorite ? HttpMethod.Post : HttpMethod.Delete, $"/api/articles/{user.Fixed}/favorite", null,
                        ("favorite", user.Favorites, favorite ? "true,1" : "false,0"));
                    await ReadAsync(user, "favorite", $"/api/articles/{user.Fixed}", user.Token, json =>
                    {
                        var article = json.GetProperty("article");
                        return Exactly($"{(article.GetProperty("favorited").GetBoolean() ? "true" : "false")},{article.GetProperty("favoritesCount").GetInt64()}");
                    });
                    await ReadAsync(user, "favorite", $"/api/articles/{user.Fixed}", null, json =>
                    {
                        var count = json.GetProperty("article").GetProperty("favoritesCount").GetInt64();
                        return ($"count {count}", value => value.EndsWith($",{count}", StringComparison.Ordinal));
                    });
                    await ReadAsync(user, "favorite", $"/api/articles?favorited={user.Username}", null, json =>
                    {
                        var listed = json.GetProperty("articlesCount").GetInt64() > 0 ? "true" : "false";
                        return ($"listed {listed}", value => value.StartsWith(listed, StringComparison.Ordinal));
                    });
                    break;
                case "comment":
                    var c = ++user.Comments;
                    await WriteAsync(user, HttpMethod.Post, $"/api/articles/{user.Fixed}/comments", new { comment = new { body = $"c{c}" } }, ("comments", c, $"c{c}"));
                    await ReadAsync(user, "comments", $"/api/articles/{user.Fixed}/comments", user.Token, LatestComment);
                    await ReadAsync(user, "comments", $"/api/articles/{user.Fixed}/comments", null, LatestComment);
                    break;
                case "bio":
                    var b = ++user.Bios;
                    await WriteAsync(user, HttpMethod.Put, "/api/user", new { user = new { bio = $"b{b}" } }, ("bio", b, $"b{b}"));
                    await ReadAsync(user, "bio", "/api/user", user.Token, json => Exactly(json.GetProperty("user").GetProperty("bio").GetString() ?? ""));
                    await ReadAsync(user, "bio", $"/api/profiles/{user.Username}", null, json => Exactly(json.GetProperty("profile").GetProperty("bio").GetString() ?? ""));
                    break;
                case "follow":
                    var follow = ++user.FollowChanges % 2 == 1;
                    var target = user.Follows!;
                    await WriteAsync(user, follow ? HttpMethod.Post : HttpMethod.Delete, $"/api/profiles/{target.Username}/follow", null, ("follow", user.FollowChanges, follow ? "true" : "false"));
                    await ReadAsync(user, "follow", $"/api/profiles/{target.Username}", user.Token, json => Exactly(json.GetProperty("profile").GetProperty("following").GetBoolean() ? "true" : "false"));
                    await ReadAsync(user, "follow", "/api/articles/feed?limit=1", user.Token, json => Exactly(json.GetProperty("articlesCount").GetInt64() > 0 ? "true" : "false"));
                    break;
            }
        }
    }

    static (string Seen, Func<string, bool> Matches) Exactly(string seen) => (seen, value => value == seen);

    static (string, Func<string, bool>) Present(JsonElement json) => Exactly("present");

    static (string, Func<string, bool>) LatestComment(JsonElement json)
    {
        var numbers = json.GetProperty("comments").EnumerateArray().Select(c => int.Parse(c.GetProperty("body").GetString()![1..], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        return Exactly(numbers.Length == 0 ? "none" : $"c{numbers.Max()}");
    }

    static (string, Func<string, bool>) Newest(JsonElement json, User user)
    {
        var articles = json.GetProperty("articles");
        return Exactly(articles.GetArrayLength() == 0 ? "none" : articles[0].GetProperty("title").GetString()![(user.Username.Length + 1)..]);
    }

    /// <summary>Sends a write and records it as the given versions of one or more registers; returns the answer, or null when it failed.</summary>
    async Task<JsonElement?> WriteAsync(User user, HttpMethod method, string path, object? body, params (string Key, int Version, string Value)[] registers)
    {
        var start = History.Now;
        var reply = await TrySendAsync(method, path, user.Token, body);
        var end = History.Now;
        foreach (var (key, version, value) in registers) history.Write(user.Index, key, version, value, start, end, reply.Status);
        return reply.Status is >= 200 and < 300 ? reply.Json : null;
    }

    /// <summary>Reads and records what the answer showed of <paramref name="key"/> (a 404 shows an article as missing).</summary>
    async Task ReadAsync(User user, string key, string path, string? token, Func<JsonElement, (string Seen, Func<string, bool> Matches)> observe)
    {
        var start = History.Now;
        var reply = await TrySendAsync(HttpMethod.Get, path, token, null);
        var end = History.Now;
        var (seen, matches) = reply.Status switch
        {
            >= 200 and < 300 => observe(reply.Json),
            404 => Exactly("missing"),
            _ => ($"status {reply.Status}", (Func<string, bool>)(_ => false)),
        };
        history.Read(user.Index, key, seen, matches, start, end, reply.Status);
    }

    readonly record struct Reply(int Status, JsonElement Json);

    async Task<Reply> TrySendAsync(HttpMethod method, string path, string? token, object? body)
    {
        try
        {
            return await SendAsync(method, path, token, body, throwOnError: false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new Reply(0, default);  // no answer at all: an error
        }
    }

    async Task<Reply> SendAsync(HttpMethod method, string path, string? token, object? body, bool throwOnError = true)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", $"Token {token}");
        using var response = await instances[Random.Shared.Next(instances.Count)].SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (throwOnError && !response.IsSuccessStatusCode) throw new HttpRequestException($"{method} {path}: {(int)response.StatusCode} {text}");
        var json = text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json" ? JsonDocument.Parse(text).RootElement.Clone() : default;
        return new Reply((int)response.StatusCode, json);
    }
}
