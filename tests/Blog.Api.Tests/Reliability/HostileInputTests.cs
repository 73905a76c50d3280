using System.Net.Http.Headers;
using System.Text;
using Blog.Api.Tests.Infrastructure;
using Dapper;

namespace Blog.Api.Tests.Reliability;

/// <summary>
/// Over a thousand hostile requests, generated from the tables below, to every endpoint:
/// malformed and hostile bodies, paths, query strings and tokens. Each must answer a 4xx in
/// the contract's error shape (never a 5xx), and a rejected write must leave the database
/// exactly as it was.
/// </summary>
public abstract class HostileInputTests(ApiFixture api) : ApiTests(api)
{
    /// <summary>A request to send; {slug}, {id} and {token} are filled in from the scene.</summary>
    public sealed record Case(string Name, string Method, string Path, byte[]? Body = null, string? ContentType = "application/json", bool Authenticated = true)
    {
        /// <summary>An Authorization header to send as it is, instead of the scene's token.</summary>
        public string? Authorization { get; init; }

        /// <summary>
        /// Kestrel itself refuses a NUL in the path with a bare 400, before any application
        /// code runs (so without the error shape); the in-process test server cannot send it.
        /// </summary>
        public bool RefusedByTheServer => Path.Contains("%00", StringComparison.Ordinal) && !Path.Contains('?');
    }

    enum Kind { Text, Nullable, Tags }

    sealed record Field(string Name, Kind Kind, int MaxLength);

    sealed record Endpoint(string Method, string Path, string? Envelope, Field[] Fields, Dictionary<string, string> Valid, bool Authenticated);

    static readonly Endpoint[] BodyEndpoints =
    [
        new("POST", "/api/users", "user", [new("username", Kind.Text, 50), new("email", Kind.Text, 254), new("password", Kind.Text, 256)],
            new() { ["username"] = "\"fuzzy\"", ["email"] = "\"fuzzy@example.com\"", ["password"] = "\"long enough\"" }, false),
        new("POST", "/api/users/login", "user", [new("email", Kind.Text, 254), new("password", Kind.Text, 256)],
            new() { ["email"] = "\"fuzzy@example.com\"", ["password"] = "\"long enough\"" }, false),
        new("PUT", "/api/user", "user", [new("email", Kind.Text, 254), new("username", Kind.Text, 50), new("password", Kind.Text, 256), new("bio", Kind.Nullable, 2000), new("image", Kind.Nullable, 2048)],
            new() { ["bio"] = "\"new bio\"" }, true),
        new("POST", "/api/articles", "article", [new("title", Kind.Text, 200), new("description", Kind.Text, 500), new("body", Kind.Text, 100_000), new("tagList", Kind.Tags, 50)],
            new() { ["title"] = "\"t\"", ["description"] = "\"d\"", ["body"] = "\"b\"", ["tagList"] = "[\"a\"]" }, true),
        new("PUT", "/api/articles/{slug}", "article", [new("title", Kind.Text, 200), new("description", Kind.Text, 500), new("body", Kind.Text, 100_000), new("tagList", Kind.Tags, 50)],
            new() { ["title"] = "\"changed\"" }, true),
        new("POST", "/api/articles/{slug}/comments", "comment", [new("body", Kind.Text, 10_000)],
            new() { ["body"] = "\"a comment\"" }, true),
        new("POST", "/api/v1/user/signup", null, [new("email", Kind.Text, 254), new("password", Kind.Text, 256), new("name", Kind.Nullable, 100)],
            new() { ["email"] = "\"fuzzy-v1@example.com\"", ["password"] = "\"long enough\"" }, false),
        new("POST", "/api/v1/user/signin", null, [new("email", Kind.Text, 254), new("password", Kind.Text, 256)],
            new() { ["email"] = "\"fuzzy@example.com\"", ["password"] = "\"long enough\"" }, false),
        new("POST", "/api/v1/blog", null, [new("title", Kind.Text, 200), new("content", Kind.Text, 100_000)],
            new() { ["title"] = "\"t\"", ["content"] = "\"c\"" }, true),
        new("PUT", "/api/v1/blog", null, [new("id", Kind.Text, 100), new("title", Kind.Text, 200), new("content", Kind.Text, 100_000)],
            new() { ["id"] = "\"{id}\"", ["title"] = "\"changed\"" }, true),
    ];

    /// <summary>Values no field of its kind accepts (JSON literals).</summary>
    static IEnumerable<(string Name, string Json)> HostileValues(Field field)
    {
        if (field.Kind == Kind.Tags)
        {
            return
            [
                ("a string", "\"x\""), ("a number", "1"), ("an object", "{}"), ("numbers", "[1, 2]"), ("nested arrays", "[[\"x\"]]"),
                ("objects", "[{}]"), ("a NUL tag", "[\"a\\u0000b\"]"), ("a line break", "[\"two\\nlines\"]"),
                ("an overlong tag", $"[\"{new string('t', field.MaxLength + 1)}\"]"),
                ("21 tags", "[" + string.Join(",", Enumerable.Range(0, 21).Select(i => $"\"t{i}\"")) + "]"),
                ("a lone surrogate", "[\"\\ud800\"]"),
            ];
        }
        var values = new List<(string, string)>
        {
            ("a number", "123"), ("a huge number", "1e999"), ("true", "true"), ("an array", "[\"x\"]"), ("an empty array", "[]"),
            ("an object", "{}"), ("an operator object", "{\"$ne\": null}"), ("a NUL", "\"\\u0000\""), ("an inner NUL", "\"a\\u0000b\""),
            ("a lone high surrogate", "\"\\ud800\""), ("a lone low surrogate", "\"x\\udfff\""),
            ("an overlong value", $"\"{new string('x', field.MaxLength + 1)}\""),
        };
        if (field.Kind == Kind.Text) values.AddRange([("null", "null"), ("empty", "\"\""), ("blank", "\" \\t\\n \"")]);
        return values;
    }

    static string Body(Endpoint endpoint, Dictionary<string, string> fields)
    {
        var inner = "{" + string.Join(",", fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}";
        return endpoint.Envelope is null ? inner : $"{{\"{endpoint.Envelope}\":{inner}}}";
    }

    public static IEnumerable<Case> BodyCases()
    {
        foreach (var endpoint in BodyEndpoints)
        {
            foreach (var field in endpoint.Fields)
            {
                foreach (var (name, json) in HostileValues(field))
                {
                    var fields = new Dictionary<string, string>(endpoint.Valid) { [field.Name] = json };
                    yield return new($"{endpoint.Method} {endpoint.Path}: {field.Name} as {name}", endpoint.Method, endpoint.Path, Encoding.UTF8.GetBytes(Body(endpoint, fields)), Authenticated: endpoint.Authenticated);
                }
            }
            var valid = Body(endpoint, endpoint.Valid);
            var malformed = new (string Name, byte[] Body)[]
            {
                ("an empty body", []), ("null", "null"u8.ToArray()), ("an array", "[]"u8.ToArray()), ("a number", "42"u8.ToArray()),
                ("a string", "\"text\""u8.ToArray()), ("true", "true"u8.ToArray()), ("an open brace", "{"u8.ToArray()),
                ("a dangling key", "{\"a\":"u8.ToArray()), ("a close brace", "}"u8.ToArray()),
                ("half the valid body", Encoding.UTF8.GetBytes(valid[..(valid.Length / 2)])),
                ("trailing garbage", Encoding.UTF8.GetBytes(valid + "}}}")),
                ("deep arrays", Encoding.UTF8.GetBytes("{\"x\":" + new string('[', 5000) + new string(']', 5000) + "}")),
                ("deep objects", Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", 3000)) + "1" + new string('}', 3000))),
                ("invalid UTF-8", [.. "{\"user\":{\"email\":\""u8, 0xFF, 0xFE, .. "\"}}"u8]),
                ("an overlong UTF-8 encoding", [.. "{\"title\":\""u8, 0xC0, 0xAF, .. "\"}"u8]),
                ("a raw NUL byte", [.. "{\"a\":"u8, 0x00, .. "1}"u8]),
                ("a byte order mark and garbage", [0xEF, 0xBB, 0xBF, .. "{oops"u8]),
                ("NaN", "{\"user\":NaN}"u8.ToArray()), ("a comment", "/* hi */ {}"u8.ToArray()), ("single quotes", "{'user':{}}"u8.ToArray()),
                ("an empty object", "{}"u8.ToArray()), ("the envelope null", Encoding.UTF8.GetBytes($"{{\"{endpoint.Envelope ?? "title"}\":null}}")),
                ("the envelope an array", Encoding.UTF8.GetBytes($"{{\"{endpoint.Envelope ?? "title"}\":[]}}")),
                ("the envelope a string", Encoding.UTF8.GetBytes($"{{\"{endpoint.Envelope ?? "title"}\":\"x\"}}")),
                ("unknown fields only", Encoding.UTF8.GetBytes(endpoint.Envelope is null ? "{\"unknown\":1,\"other\":[1]}" : $"{{\"{endpoint.Envelope}\":{{\"unknown\":1}}}}")),
                ("a body over the size limit", Encoding.UTF8.GetBytes("{\"x\":\"" + new string('x', 1024 * 1024 + 10) + "\"}")),
                ("the valid body in UTF-16", Encoding.Unicode.GetBytes(valid)),
            };
            foreach (var (name, body) in malformed)
            {
                yield return new($"{endpoint.Method} {endpoint.Path}: {name}", endpoint.Method, endpoint.Path, body, Authenticated: endpoint.Authenticated);
            }
            foreach (var type in new[] { "text/plain", "application/x-www-form-urlencoded", "application/xml", "multipart/form-data; boundary=x", null })
            {
                yield return new($"{endpoint.Method} {endpoint.Path}: the valid body as {type ?? "no content type"}", endpoint.Method, endpoint.Path, Encoding.UTF8.GetBytes(valid), type, endpoint.Authenticated);
            }
        }
    }

    /// <summary>Path segments that name nothing; kept under Kestrel's request-line limit.</summary>
    static readonly string[] JunkSegments =
    [
        "%00", "a%00b", "%FF", "%C0%AE", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f", "'%20OR%201=1--", "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        new string('x', 5000), "%25", "%zz", "%F0%9F%90%89", "%E2%80%AE", "-1", "0", "99999999999999999999999", "1e5", "%20", "%0A%0D",
        "null", "undefined", "%7B%7D",
    ];

    static readonly (string Method, string Template, bool Authenticated)[] PathEndpoints =
    [
        ("GET", "/api/profiles/{x}", false), ("POST", "/api/profiles/{x}/follow", true), ("DELETE", "/api/profiles/{x}/follow", true),
        ("GET", "/api/articles/{x}", false), ("PUT", "/api/articles/{x}", true), ("DELETE", "/api/articles/{x}", true),
        ("POST", "/api/articles/{x}/favorite", true), ("DELETE", "/api/articles/{x}/favorite", true),
        ("GET", "/api/articles/{x}/comments", false), ("POST", "/api/articles/{x}/comments", true),
        ("DELETE", "/api/articles/{slug}/comments/{x}", true), ("DELETE", "/api/articles/{x}/comments/1", true), ("GET", "/api/v1/blog/{x}", true),
    ];

    public static IEnumerable<Case> PathCases()
    {
        foreach (var (method, template, authenticated) in PathEndpoints)
        {
            var body = template switch
            {
                "/api/articles/{x}" when method == "PUT" => "{\"article\":{\"title\":\"x\"}}",
                "/api/articles/{x}/comments" when method == "POST" => "{\"comment\":{\"body\":\"x\"}}",
                _ => null,
            };
            foreach (var junk in JunkSegments)
            {
                yield return new($"{method} {template} with {(junk.Length > 40 ? $"{junk.Length} characters" : junk)}", method,
                    template.Replace("{x}", junk), body is null ? null : Encoding.UTF8.GetBytes(body), Authenticated: authenticated);
            }
        }
    }

    public static IEnumerable<Case> QueryCases()
    {
        var paging = new[] { "-1", "abc", "1e2", "0x10", "1.0", "%00", "%EF%BC%91%EF%BC%90", "999999999999999999999999", "%201", "1%2C2", "NaN", "--1" };
        foreach (var path in new[] { "/api/articles", "/api/articles/feed", "/api/v1/blog/bulk" })
        {
            foreach (var parameter in new[] { "limit", "offset" })
            {
                foreach (var junk in paging) yield return new($"GET {path}?{parameter}={junk}", "GET", $"{path}?{parameter}={junk}");
            }
            yield return new($"GET {path}?limit=0", "GET", $"{path}?limit=0");
            yield return new($"GET {path}?limit=101", "GET", $"{path}?limit=101");
            yield return new($"GET {path}?limit=1&limit=2", "GET", $"{path}?limit=1&limit=2");
        }
        foreach (var filter in new[] { "tag", "author", "favorited" })
        {
            yield return new($"GET /api/articles?{filter}=%00", "GET", $"/api/articles?{filter}=a%00b", Authenticated: false);
            yield return new($"GET /api/articles?{filter}= overlong", "GET", $"/api/articles?{filter}={new string('x', 1001)}", Authenticated: false);
        }
    }

    static readonly string[] JunkAuthorizations =
    [
        "Token", "Token ", "Bearer", "Bearer  ", "Token a.b.c", "Token " + new string('x', 5000), "Basic dXNlcjpwYXNz", "Token null",
        "Token undefined", "Token eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", "Token {}", "Digest x", "Token ..", "Token a.b", "Bearer Token x",
    ];

    public static IEnumerable<Case> TokenCases()
    {
        foreach (var (method, path) in new[] { ("GET", "/api/user"), ("GET", "/api/articles"), ("POST", "/api/articles"), ("GET", "/api/v1/blog/bulk"), ("GET", "/api/profiles/someone") })
        {
            foreach (var header in JunkAuthorizations)
            {
                yield return new($"{method} {path} with Authorization '{(header.Length > 40 ? header[..20] + "…" : header)}'", method, path,
                    method == "POST" ? "{\"article\":{\"title\":\"t\",\"description\":\"d\",\"body\":\"b\"}}"u8.ToArray() : null, Authenticated: false)
                { Authorization = header };
            }
        }
    }

    [Fact]
    public void Over_a_thousand_cases_are_generated()
    {
        var count = BodyCases().Count() + PathCases().Count() + QueryCases().Count() + TokenCases().Count();
        Assert.True(count > 1000, $"{count} cases");
    }

    [Fact]
    public Task Hostile_bodies_get_a_4xx_and_change_nothing() => RunAsync(BodyCases());

    [Fact]
    public Task Hostile_paths_get_a_4xx_and_change_nothing() => RunAsync(PathCases());

    [Fact]
    public Task Hostile_query_strings_get_a_4xx() => RunAsync(QueryCases());

    [Fact]
    public Task Hostile_tokens_get_a_401() => RunAsync(TokenCases(), expected: 401);

    async Task RunAsync(IEnumerable<Case> cases, int? expected = null)
    {
        // The scene: a user with an article and a comment, and v1's view of the article.
        var user = await Register("fuzz");
        var article = await CreateArticle(user, "Target", "a");
        var slug = article.GetProperty("slug").GetString()!;
        var comment = (await Post($"/api/articles/{slug}/comments", new { comment = new { body = "c" } }, user.Token))["comment"].GetProperty("id").GetInt64();
        var blogId = (await ScalarAsync<Guid>("SELECT public_id FROM articles")).ToString();
        var before = await FingerprintAsync();
        var failures = new List<string>();
        var sent = 0;

        foreach (var @case in cases)
        {
            if (@case.RefusedByTheServer && Api is InProcessApi) continue;
            string Fill(string text) => text.Replace("{slug}", slug).Replace("{id}", blogId).Replace("{token}", user.Token);
            var request = new HttpRequestMessage(new HttpMethod(@case.Method), Fill(@case.Path));
            if (@case.Body is not null)
            {
                request.Content = new ByteArrayContent(Encoding.UTF8.GetString(@case.Body) is var text && text.Contains("{id}") ? Encoding.UTF8.GetBytes(Fill(text)) : @case.Body);
                request.Content.Headers.ContentType = @case.ContentType is null ? null : MediaTypeHeaderValue.Parse(@case.ContentType);
                // As browsers and HTTP clients do for big uploads: the server can refuse (413)
                // before the body is sent, instead of cutting the connection mid-upload.
                request.Headers.ExpectContinue = @case.Body.Length > 64 * 1024;
            }
            if (@case.Authorization is { } authorization) request.Headers.TryAddWithoutValidation("Authorization", authorization);
            else if (@case.Authenticated) request.Headers.TryAddWithoutValidation("Authorization", $"Token {user.Token}");

            var reply = await Send(request);
            sent++;
            var status = (int)reply.Status;
            if (@case.RefusedByTheServer)
            {
                if (status != 400) failures.Add($"{@case.Name}: {status}, expected Kestrel's 400");
                continue;
            }
            if (expected is { } code ? status != code : status is < 400 or >= 500)
            {
                failures.Add($"{@case.Name}: {status} {reply.Text[..Math.Min(reply.Text.Length, 200)]}");
                continue;
            }
            try
            {
                reply.IsClientErrorInShape();
            }
            catch (Exception e)
            {
                failures.Add($"{@case.Name}: {status} not in the error shape ({e.Message.Split('\n')[0]}): {reply.Text[..Math.Min(reply.Text.Length, 200)]}");
                continue;
            }
            if (@case.Method != "GET" && await FingerprintAsync() != before)
            {
                failures.Add($"{@case.Name}: {status} but the database changed");
                before = await FingerprintAsync();
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {sent} hostile requests misbehaved:\n" + string.Join("\n", failures.Take(60)));
        Assert.Equal(comment, await ScalarAsync<long>("SELECT id FROM comments"));  // the scene itself survived
    }

    async Task<T> ScalarAsync<T>(string sql)
    {
        await using var connection = await Api.Db.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<T>(sql) ?? throw new InvalidOperationException(sql);
    }

    /// <summary>Everything a rejected write could have touched.</summary>
    Task<string> FingerprintAsync() => ScalarAsync<string>("""
        SELECT concat_ws('|',
            (SELECT count(*) FROM users), (SELECT max(updated_at) FROM users), (SELECT md5(string_agg(username || email || password_hash || coalesce(bio, '') || coalesce(image, ''), ',' ORDER BY id)) FROM users),
            (SELECT count(*) FROM articles), (SELECT max(updated_at) FROM articles), (SELECT md5(string_agg(slug || title || body, ',' ORDER BY id)) FROM articles),
            (SELECT count(*) FROM comments), (SELECT count(*) FROM tags), (SELECT count(*) FROM article_tags),
            (SELECT count(*) FROM favorites), (SELECT count(*) FROM follows))
        """);
}

public sealed class HostileInputInProcess(InProcessApi api) : HostileInputTests(api), IClassFixture<InProcessApi>;
public sealed class HostileInputBinary(BinaryApi api) : HostileInputTests(api), IClassFixture<BinaryApi>;
