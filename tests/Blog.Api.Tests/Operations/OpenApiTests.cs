using System.Net;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Operations;

/// <summary>The OpenAPI document is complete: every route, every status, the request constraints.</summary>
public abstract class OpenApiTests(ApiFixture api) : ApiTests(api)
{
    /// <summary>
    /// Every operation of the API with the statuses it answers; nothing more, nothing less (401 on
    /// every one: a token that is sent and invalid is refused everywhere), and what it takes: a
    /// token (it needs a user), a token or none (it shows a signed-in caller more), or none.
    /// </summary>
    public static readonly (string Method, string Path, int[] Statuses, string Security)[] Operations =
    [
        ("post", "/api/users", [201, 401, 409, 422, 429], "none"),
        ("post", "/api/users/login", [200, 401, 422, 429], "none"),
        ("get", "/api/user", [200, 401], "token"),
        ("put", "/api/user", [200, 401, 409, 422], "token"),
        ("get", "/api/profiles/{username}", [200, 401, 404], "optional"),
        ("post", "/api/profiles/{username}/follow", [200, 401, 404, 422], "token"),
        ("delete", "/api/profiles/{username}/follow", [200, 401, 404, 422], "token"),
        ("get", "/api/articles", [200, 401, 422], "optional"),
        ("post", "/api/articles", [201, 401, 422], "token"),
        ("get", "/api/articles/feed", [200, 401, 422], "token"),
        ("get", "/api/articles/{slug}", [200, 401, 404], "optional"),
        ("put", "/api/articles/{slug}", [200, 401, 403, 404, 422], "token"),
        ("delete", "/api/articles/{slug}", [204, 401, 403, 404], "token"),
        ("post", "/api/articles/{slug}/favorite", [200, 401, 404], "token"),
        ("delete", "/api/articles/{slug}/favorite", [200, 401, 404], "token"),
        ("get", "/api/articles/{slug}/comments", [200, 401, 404], "optional"),
        ("post", "/api/articles/{slug}/comments", [201, 401, 404, 422], "token"),
        ("delete", "/api/articles/{slug}/comments/{id}", [204, 401, 403, 404], "token"),
        ("get", "/api/tags", [200, 401], "none"),
        ("post", "/api/v1/user/signup", [200, 401, 409, 422, 429], "none"),
        ("post", "/api/v1/user/signin", [200, 401, 422, 429], "none"),
        ("post", "/api/v1/blog", [200, 401, 422], "token"),
        ("put", "/api/v1/blog", [200, 401, 403, 404, 422], "token"),
        ("get", "/api/v1/blog/bulk", [200, 401, 422], "token"),
        ("get", "/api/v1/blog/{id}", [200, 401, 404], "token"),
        ("get", "/health", [200, 401], "none"),
        ("get", "/health/ready", [200, 401, 503], "none"),
    ];

    async Task<JsonElement> Document() => (await Get("/openapi/v1.json")).Is(HttpStatusCode.OK).Json;

    [Fact]
    public async Task Every_operation_is_documented_with_its_statuses_and_security()
    {
        var paths = (await Document()).GetProperty("paths");

        var documented = paths.EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => $"{op.Name} {path.Name}"))
            .Order().ToArray();
        Assert.Equal(Operations.Select(o => $"{o.Method} {o.Path}").Order(), documented);

        foreach (var (method, path, statuses, security) in Operations)
        {
            var operation = paths.GetProperty(path).GetProperty(method);
            var responses = operation.GetProperty("responses").EnumerateObject().Select(r => int.Parse(r.Name)).Order();
            Assert.True(statuses.Order().SequenceEqual(responses), $"{method} {path}: documented {string.Join(",", responses)}");
            var expected = security switch { "token" => """[{"Token":[]}]""", "optional" => """[{},{"Token":[]}]""", _ => "[]" };
            Assert.Equal(expected, string.Concat(operation.GetProperty("security").GetRawText().Where(c => !char.IsWhiteSpace(c))));
            foreach (var error in statuses.Where(s => s >= 400))
            {
                var schema = operation.GetProperty("responses").GetProperty($"{error}").GetProperty("content").GetProperty("application/json").GetProperty("schema");
                Assert.Equal("#/components/schemas/ErrorBody", schema.GetProperty("$ref").GetString());
            }
        }
    }

    [Fact]
    public async Task The_http_file_has_a_request_for_every_operation()
    {
        var http = await File.ReadAllTextAsync(Path.Combine(ServiceProcess.RepositoryRoot, "src", "Blog.Api", "Blog.Api.http"));
        var requests = http.Split('\n').Where(line => line.Split(' ') is [var method, _] && method is "GET" or "POST" or "PUT" or "DELETE")
            .Select(line => line.Split(' ')).Select(parts => (Method: parts[0].ToLowerInvariant(), Path: parts[1].Replace("{{base}}", "").Split('?')[0]))
            .ToArray();
        foreach (var (method, path, _, _) in Operations)
        {
            var pattern = new System.Text.RegularExpressions.Regex("^" + System.Text.RegularExpressions.Regex.Replace(path, @"\{[^}]+\}", "[^/]+") + "$");
            Assert.True(requests.Any(r => r.Method == method && pattern.IsMatch(r.Path)), $"Blog.Api.http has no {method} {path}");
        }
    }

    [Theory]
    [InlineData("NewUser", "username", 1, 50)]
    [InlineData("NewUser", "email", 1, 254)]
    [InlineData("NewUser", "password", 8, 256)]
    [InlineData("NewArticle", "title", 1, 200)]
    [InlineData("NewArticle", "description", 1, 500)]
    [InlineData("NewArticle", "body", 1, 100000)]
    [InlineData("NewComment", "body", 1, 10000)]
    public async Task Required_text_is_documented_as_required_non_blank_and_bounded(string type, string property, int minLength, int maxLength)
    {
        var schema = (await Document()).GetProperty("components").GetProperty("schemas").GetProperty(type);
        Assert.Contains(property, schema.GetProperty("required").EnumerateArray().Select(r => r.GetString()));
        var field = schema.GetProperty("properties").GetProperty(property);
        Assert.Equal("string", field.GetProperty("type").GetString());
        Assert.Equal(minLength, field.GetProperty("minLength").GetInt32());
        Assert.Equal(maxLength, field.GetProperty("maxLength").GetInt32());
    }

    [Fact]
    public async Task Formats_tag_limits_optional_updates_and_paging_are_documented()
    {
        var document = await Document();
        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.Equal("email", schemas.GetProperty("NewUser").GetProperty("properties").GetProperty("email").GetProperty("format").GetString());
        Assert.Equal("^(https?://.+)?$", schemas.GetProperty("UserChanges").GetProperty("properties").GetProperty("image").GetProperty("pattern").GetString());
        Assert.False(schemas.GetProperty("UserChanges").TryGetProperty("required", out _), "every field of an update is optional");
        var tags = schemas.GetProperty("NewArticle").GetProperty("properties").GetProperty("tagList");
        Assert.Equal(20, tags.GetProperty("maxItems").GetInt32());
        Assert.Equal(50, tags.GetProperty("items").GetProperty("maxLength").GetInt32());
        Assert.Equal(200, schemas.GetProperty("ArticleChanges").GetProperty("properties").GetProperty("title").GetProperty("maxLength").GetInt32());

        var parameters = document.GetProperty("paths").GetProperty("/api/articles").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("schema"));
        Assert.Equal("integer", parameters["limit"].GetProperty("type").GetString());
        Assert.Equal(1, parameters["limit"].GetProperty("minimum").GetInt32());
        Assert.Equal(100, parameters["limit"].GetProperty("maximum").GetInt32());
        Assert.Equal(20, parameters["limit"].GetProperty("default").GetInt32());
        Assert.Equal(0, parameters["offset"].GetProperty("minimum").GetInt32());

        var commentId = document.GetProperty("paths").GetProperty("/api/articles/{slug}/comments/{id}").GetProperty("delete").GetProperty("parameters")
            .EnumerateArray().Single(p => p.GetProperty("name").GetString() == "id").GetProperty("schema");
        Assert.Equal("integer", commentId.GetProperty("type").GetString());
        var blogId = document.GetProperty("paths").GetProperty("/api/v1/blog/{id}").GetProperty("get").GetProperty("parameters")[0].GetProperty("schema");
        Assert.Equal("uuid", blogId.GetProperty("format").GetString());
    }
}

public sealed class OpenApiInProcess(InProcessApi api) : OpenApiTests(api), IClassFixture<InProcessApi>;
public sealed class OpenApiBinary(BinaryApi api) : OpenApiTests(api), IClassFixture<BinaryApi>;
