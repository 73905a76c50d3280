using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>
/// Base of the HTTP tests: send requests the way a front end does and read the JSON it gets.
/// Every reply records how many database round trips the service made for it (in-process).
/// Each test starts from empty tables (tests of one class share its database, one at a time).
/// </summary>
public abstract class ApiTests(ApiFixture api) : IAsyncLifetime
{
    protected ApiFixture Api => api;

    public async Task InitializeAsync()
    {
        await using var connection = await api.Db.OpenConnectionAsync();
        // Edge caches with a listener forget what they hold of the data before ("*", migration 0007).
        await Dapper.SqlMapper.ExecuteAsync(connection, """TRUNCATE users, tags, sign_in_limits RESTART IDENTITY CASCADE; NOTIFY blog_changes, '["*"]'""");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    protected Task<Reply> Get(string path, string? token = null) => Send(HttpMethod.Get, path, null, token);
    protected Task<Reply> Post(string path, object? body = null, string? token = null) => Send(HttpMethod.Post, path, body, token);
    protected Task<Reply> Put(string path, object? body = null, string? token = null) => Send(HttpMethod.Put, path, body, token);
    protected Task<Reply> Delete(string path, string? token = null) => Send(HttpMethod.Delete, path, null, token);

    protected Task<Reply> Send(HttpMethod method, string path, object? body, string? token, string scheme = "Token")
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", scheme.Length == 0 ? token : $"{scheme} {token}");
        return Send(request);
    }

    /// <summary>Sends a body exactly as given, for malformed and hostile input.</summary>
    protected Task<Reply> SendRaw(HttpMethod method, string path, byte[] body, string contentType = "application/json", string? token = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (token is not null) request.Headers.TryAddWithoutValidation("Authorization", $"Token {token}");
        return Send(request);
    }

    protected async Task<Reply> Send(HttpRequestMessage request)
    {
        var before = api.RoundTrips?.Count ?? 0;
        using var response = await api.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var statements = api.RoundTrips?.Statements.Skip(before).ToArray();
        var json = default(JsonElement);
        if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            json = JsonDocument.Parse(text).RootElement.Clone();
        }
        request.Dispose();
        return new Reply(response.StatusCode, json, text, response.Headers, response.Content.Headers, statements);
    }

    /// <summary>Registers a new user with a unique name and returns it signed in.</summary>
    protected async Task<TestUser> Register(string? prefix = null)
    {
        var username = $"{prefix ?? "user"}{Guid.NewGuid():N}"[..20];
        var email = $"{username}@example.com";
        const string password = "correct horse battery";
        var reply = await Post("/api/users", new { user = new { username, email, password } });
        reply.Is(HttpStatusCode.Created);
        return new TestUser(username, email, password, reply["user"].GetProperty("token").GetString()!);
    }

    /// <summary>Publishes an article as <paramref name="author"/> and returns it as the API answered.</summary>
    protected async Task<JsonElement> CreateArticle(TestUser author, string title = "How to train your dragon", params string[] tags)
    {
        var reply = await Post("/api/articles", new { article = new { title, description = "Ever wonder how?", body = "You have to believe", tagList = tags } }, author.Token);
        reply.Is(HttpStatusCode.Created);
        return reply["article"];
    }

    protected async Task<long> CountAsync(string sql, object? parameters = null)
    {
        await using var connection = await api.Db.OpenConnectionAsync();
        return await Dapper.SqlMapper.ExecuteScalarAsync<long>(connection, sql, parameters);
    }

    /// <summary>Writes to the database directly, as a seed or a person with psql would.</summary>
    protected async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await api.Db.OpenConnectionAsync();
        await Dapper.SqlMapper.ExecuteAsync(connection, sql, parameters);
    }
}

public sealed record TestUser(string Username, string Email, string Password, string Token);

public sealed record Reply(
    HttpStatusCode Status, JsonElement Json, string Text,
    HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders, string[]? Statements)
{
    public JsonElement this[string property] => Json.GetProperty(property);

    public Reply Is(HttpStatusCode expected)
    {
        Assert.True(Status == expected, $"Expected {(int)expected} {expected}, got {(int)Status} {Status}: {Text}");
        return this;
    }

    /// <summary>The contract's error shape: <c>{"errors":{key:[message]}}</c>, word for word.</summary>
    public Reply IsError(int status, string key, string message)
    {
        Assert.True((int)Status == status, $"Expected {status}, got {(int)Status}: {Text}");
        Assert.Equal("application/json", ContentHeaders.ContentType?.MediaType);
        var errors = Json.GetProperty("errors");
        Assert.True(errors.TryGetProperty(key, out var messages), $"No error for '{key}' in {Text}");
        Assert.Contains(message, messages.EnumerateArray().Select(m => m.GetString()));
        return this;
    }

    /// <summary>Any 4xx in the error shape (for fuzzing, where the exact key varies).</summary>
    public Reply IsClientErrorInShape()
    {
        Assert.True((int)Status is >= 400 and < 500, $"Expected a 4xx, got {(int)Status}: {Text}");
        Assert.Equal("application/json", ContentHeaders.ContentType?.MediaType);
        var errors = Json.GetProperty("errors");
        Assert.True(errors.EnumerateObject().Any(), Text);
        foreach (var field in errors.EnumerateObject())
        {
            Assert.All(field.Value.EnumerateArray(), m => Assert.False(string.IsNullOrEmpty(m.GetString())));
        }
        return this;
    }

    /// <summary>Asserts the one statement the request sent, word for word (where it can be observed).</summary>
    public Reply Sent(string statement)
    {
        if (Statements is { } sent) Assert.Equal([statement], sent);
        return this;
    }

    /// <summary>Asserts the number of database round trips (where they can be observed).</summary>
    public Reply TookRoundTrips(int expected)
    {
        if (Statements is { } sent)
        {
            Assert.True(sent.Length == expected, $"Expected {expected} database round trip(s), the request made {sent.Length}:\n{string.Join("\n---\n", sent)}");
        }
        return this;
    }
}
