using System.Net;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Operations;

public abstract class OperationsTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task Health_answers_without_touching_the_database()
    {
        var reply = await Get("/health");
        reply.Is(HttpStatusCode.OK).TookRoundTrips(0);
        Assert.Equal("Healthy", reply.Text);
    }

    [Fact]
    public async Task Ready_checks_the_database_is_reachable_and_migrated()
    {
        var reply = await Get("/health/ready");
        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal("Healthy", reply.Text);
    }

    [Fact]
    public async Task The_OpenAPI_document_lists_the_user_routes_and_the_Token_scheme()
    {
        var document = (await Get("/openapi/v1.json")).Is(HttpStatusCode.OK).Json;

        var paths = document.GetProperty("paths");
        Assert.True(paths.GetProperty("/api/users").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/api/users/login").TryGetProperty("post", out _));
        var current = paths.GetProperty("/api/user");
        Assert.True(current.TryGetProperty("put", out _));
        var scheme = document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Token");
        Assert.Equal("apiKey", scheme.GetProperty("type").GetString());
        Assert.Equal("header", scheme.GetProperty("in").GetString());
        Assert.Equal("Authorization", scheme.GetProperty("name").GetString());
        var security = current.GetProperty("get").GetProperty("security");
        Assert.Contains(security.EnumerateArray(), requirement => requirement.TryGetProperty("Token", out _));
        Assert.Equal(0, paths.GetProperty("/api/users").GetProperty("post").GetProperty("security").GetArrayLength());  // sign-up takes no token
    }

    [Fact]
    public async Task The_docs_page_is_served_from_the_binary()
    {
        var reply = await Get("/docs/");
        reply.Is(HttpStatusCode.OK);
        Assert.Equal("text/html", reply.ContentHeaders.ContentType?.MediaType);
        Assert.Contains("scalar", reply.Text, StringComparison.OrdinalIgnoreCase);
        var script = await Get("/docs/scalar.js");
        script.Is(HttpStatusCode.OK);
        Assert.True(script.Text.Length > 100_000, "the Scalar bundle is served by the binary itself");
    }

    [Fact]
    public async Task By_default_any_origin_may_call_with_the_methods_and_headers_front_ends_use()
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/articles/some-slug");
        request.Headers.Add("Origin", "https://any.example.com");
        request.Headers.Add("Access-Control-Request-Method", "PUT");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");

        var reply = (await Send(request)).Is(HttpStatusCode.NoContent);

        Assert.Equal("*", reply.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var methods = string.Join(",", reply.Headers.GetValues("Access-Control-Allow-Methods"));
        foreach (var method in new[] { "GET", "POST", "PUT", "DELETE", "OPTIONS" }) Assert.Contains(method, methods);
        var headers = string.Join(",", reply.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        Assert.Contains("authorization", headers);
        Assert.Contains("content-type", headers);
    }

    [Fact]
    public async Task Unknown_routes_and_methods_answer_in_the_error_shape()
    {
        (await Get("/api/nothing-here")).IsError(404, "path", "not found");
        (await Delete("/api/users")).IsError(405, "method", "is not allowed");
    }
}

public sealed class OperationsInProcess(InProcessApi api) : OperationsTests(api), IClassFixture<InProcessApi>;
public sealed class OperationsBinary(BinaryApi api) : OperationsTests(api), IClassFixture<BinaryApi>;
