using System.Net;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Compat;

/// <summary>The /api/v1 surface of the original front end, over the same users and articles.</summary>
public abstract class CompatTests(ApiFixture api) : ApiTests(api)
{
    async Task<string> Signup(string email, string? name = null, string password = "long enough password")
    {
        var reply = await Post("/api/v1/user/signup", new { email, password, name });
        reply.Is(HttpStatusCode.OK);
        return reply["jwt"].GetString()!;
    }

    Task<Reply> AsV1(HttpMethod method, string path, object? body, string token, bool bearer = false) =>
        Send(method, path, body, token, bearer ? "Bearer" : "");

    [Fact]
    public async Task Signup_answers_a_jwt_that_works_on_both_surfaces_and_the_name_shapes_the_username()
    {
        var reply = await Post("/api/v1/user/signup", new { email = "ada@example.com", password = "long enough password", name = "Ada Lovelace" });

        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        var jwt = reply["jwt"].GetString();
        var me = (await Get("/api/user", jwt)).Is(HttpStatusCode.OK)["user"];
        Assert.Equal("ada-lovelace", me.GetProperty("username").GetString());
        (await Post("/api/users/login", new { user = new { email = "ada@example.com", password = "long enough password" } })).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Without_a_name_the_username_comes_from_the_email_and_clashes_get_a_suffix()
    {
        var first = await Signup("grace@example.com");
        var second = await Signup("grace@elsewhere.org");

        var firstName = (await Get("/api/user", first))["user"].GetProperty("username").GetString();
        var secondName = (await Get("/api/user", second))["user"].GetProperty("username").GetString();
        Assert.Equal("grace", firstName);
        Assert.Matches("^grace-[0-9a-f]{6}$", secondName);
    }

    [Fact]
    public async Task A_Conduit_user_signs_in_through_v1_and_a_wrong_password_is_401()
    {
        var user = await Register();
        var reply = await Post("/api/v1/user/signin", new { email = user.Email, password = user.Password });
        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        (await Get("/api/user", reply["jwt"].GetString())).Is(HttpStatusCode.OK);

        (await Post("/api/v1/user/signin", new { email = user.Email, password = "not the password" })).IsError(401, "credentials", "invalid").TookRoundTrips(1);
        (await Post("/api/v1/user/signin", new { email = "nobody@example.com", password = "whatever12" })).IsError(401, "credentials", "invalid");
    }

    [Fact]
    public async Task Signup_and_signin_reject_bad_input_with_422_and_a_taken_email_with_409()
    {
        (await Post("/api/v1/user/signup", new { password = "long enough password" })).IsError(422, "email", "can't be blank").TookRoundTrips(0);
        (await Post("/api/v1/user/signup", new { email = "not-an-email", password = "long enough password" })).IsError(422, "email", "is invalid");
        (await Post("/api/v1/user/signup", new { email = "short@example.com", password = "short" })).IsError(422, "password", "is too short (minimum is 8 characters)");
        (await Post("/api/v1/user/signup", new { email = "long@example.com", password = "long enough password", name = new string('n', 101) }))
            .IsError(422, "name", "is too long (maximum is 100 characters)");
        (await Post("/api/v1/user/signin", new { email = "a@example.com" })).IsError(422, "password", "can't be blank");
        (await SendRaw(HttpMethod.Post, "/api/v1/user/signup", "{\"email\":"u8.ToArray())).IsError(422, "body", "is invalid");

        await Signup("taken@example.com");
        (await Post("/api/v1/user/signup", new { email = "TAKEN@example.com", password = "long enough password" })).IsError(409, "email", "has already been taken");
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM users"));
    }

    [Fact]
    public async Task A_blog_is_an_article_on_both_surfaces()
    {
        var jwt = await Signup("writer@example.com", "Jane Writer");

        var created = await AsV1(HttpMethod.Post, "/api/v1/blog", new { title = "Hello from v1", content = "The content of the first blog.\n\nSecond paragraph." }, jwt);

        created.Is(HttpStatusCode.OK).TookRoundTrips(1);
        var id = created["id"].GetString();
        Assert.True(Guid.TryParse(id, out _));
        var blog = (await AsV1(HttpMethod.Get, $"/api/v1/blog/{id}", null, jwt)).Is(HttpStatusCode.OK)["blog"];
        Assert.Equal(id, blog.GetProperty("id").GetString());
        Assert.Equal("Hello from v1", blog.GetProperty("title").GetString());
        Assert.Equal("The content of the first blog.\n\nSecond paragraph.", blog.GetProperty("content").GetString());
        Assert.Equal("Jane Writer", blog.GetProperty("author").GetProperty("name").GetString());

        var article = (await Get("/api/articles"))["articles"][0];
        Assert.Equal("Hello from v1", article.GetProperty("title").GetString());
        Assert.Equal("The content of the first blog. Second paragraph.", article.GetProperty("description").GetString());
        Assert.StartsWith("hello-from-v1-", article.GetProperty("slug").GetString());
    }

    [Fact]
    public async Task Conduit_articles_appear_in_bulk_newest_first_and_paged()
    {
        var user = await Register("author");
        await CreateArticle(user, "First");
        await CreateArticle(user, "Second");
        var jwt = await Signup("reader@example.com");

        var bulk = await AsV1(HttpMethod.Get, "/api/v1/blog/bulk", null, jwt, bearer: true);

        bulk.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal(["Second", "First"], bulk["blogs"].EnumerateArray().Select(b => b.GetProperty("title").GetString()!));
        Assert.Equal(user.Username, bulk["blogs"][0].GetProperty("author").GetProperty("name").GetString());
        var page = await AsV1(HttpMethod.Get, "/api/v1/blog/bulk?limit=1&offset=1", null, jwt);
        Assert.Equal(["First"], page["blogs"].EnumerateArray().Select(b => b.GetProperty("title").GetString()!));
        (await AsV1(HttpMethod.Get, "/api/v1/blog/bulk?limit=0", null, jwt)).IsError(422, "limit", "must be greater than or equal to 1");
    }

    [Fact]
    public async Task Update_changes_title_and_content_for_the_author_only()
    {
        var jwt = await Signup("author@example.com");
        var stranger = await Signup("stranger@example.com");
        var id = (await AsV1(HttpMethod.Post, "/api/v1/blog", new { title = "Draft", content = "Old content" }, jwt))["id"].GetString();

        (await AsV1(HttpMethod.Put, "/api/v1/blog", new { id, title = "Stolen" }, stranger)).IsError(403, "blog", "forbidden").TookRoundTrips(1);
        var updated = await AsV1(HttpMethod.Put, "/api/v1/blog", new { id, title = "Final", content = "New content" }, jwt);
        updated.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal(id, updated["id"].GetString());

        var blog = (await AsV1(HttpMethod.Get, $"/api/v1/blog/{id}", null, jwt))["blog"];
        Assert.Equal("Final", blog.GetProperty("title").GetString());
        Assert.Equal("New content", blog.GetProperty("content").GetString());
        var article = (await Get("/api/articles"))["articles"][0];
        Assert.StartsWith("final-", article.GetProperty("slug").GetString());
        Assert.Equal("New content", article.GetProperty("description").GetString());

        var titleOnly = await AsV1(HttpMethod.Put, "/api/v1/blog", new { id, title = "Final, really" }, jwt);
        titleOnly.Is(HttpStatusCode.OK);
        Assert.Equal("New content", (await AsV1(HttpMethod.Get, $"/api/v1/blog/{id}", null, jwt))["blog"].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Unknown_or_malformed_ids_are_404_and_bad_updates_422()
    {
        var jwt = await Signup("author@example.com");
        var unknown = Guid.NewGuid();
        (await AsV1(HttpMethod.Get, $"/api/v1/blog/{unknown}", null, jwt)).IsError(404, "blog", "not found").TookRoundTrips(1);
        (await AsV1(HttpMethod.Get, "/api/v1/blog/not-a-guid", null, jwt)).IsError(404, "blog", "not found").TookRoundTrips(0);
        (await AsV1(HttpMethod.Put, "/api/v1/blog", new { id = unknown, title = "x" }, jwt)).IsError(404, "blog", "not found");
        (await AsV1(HttpMethod.Put, "/api/v1/blog", new { id = "nope", title = "x" }, jwt)).IsError(422, "id", "is invalid").TookRoundTrips(0);
        (await AsV1(HttpMethod.Put, "/api/v1/blog", new { title = "x" }, jwt)).IsError(422, "id", "can't be blank");
        var id = (await AsV1(HttpMethod.Post, "/api/v1/blog", new { title = "t", content = "c" }, jwt))["id"].GetString();
        (await AsV1(HttpMethod.Put, "/api/v1/blog", new { id, content = "" }, jwt)).IsError(422, "content", "can't be blank");
        (await AsV1(HttpMethod.Put, "/api/v1/blog", new { id }, jwt)).IsError(422, "blog", "can't be blank");
        (await AsV1(HttpMethod.Post, "/api/v1/blog", new { title = "t" }, jwt)).IsError(422, "content", "can't be blank").TookRoundTrips(0);
        (await AsV1(HttpMethod.Post, "/api/v1/blog", new { content = "c" }, jwt)).IsError(422, "title", "can't be blank");
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM articles"));
    }

    [Fact]
    public async Task Every_blog_path_needs_a_token()
    {
        var id = Guid.NewGuid();
        (await Post("/api/v1/blog", new { title = "t", content = "c" })).IsError(401, "token", "is missing").TookRoundTrips(0);
        (await Put("/api/v1/blog", new { id, title = "t" })).IsError(401, "token", "is missing");
        (await Get("/api/v1/blog/bulk")).IsError(401, "token", "is missing");
        (await Get($"/api/v1/blog/{id}")).IsError(401, "token", "is missing");
        (await Send(HttpMethod.Get, "/api/v1/blog/bulk", null, "forged.token.value", "")).IsError(401, "token", "is invalid");
    }

    [Theory]
    [InlineData("Ada\u202ELovelace")]   // a right-to-left override
    [InlineData("Ada\u0000")]
    [InlineData("Ada\u2066x")]         // a bidi isolate
    [InlineData("Ada\nLovelace")]
    public async Task A_display_name_with_control_or_direction_characters_is_422(string escaped)
    {
        var name = System.Text.RegularExpressions.Regex.Unescape(escaped);
        (await Post("/api/v1/user/signup", new { email = "ada@example.com", password = "long enough password", name }))
            .IsError(422, "name", "is invalid").TookRoundTrips(0);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM users"));
    }

    [Fact]
    public async Task A_display_name_that_mixes_scripts_makes_no_username_of_it()
    {
        var reply = await Post("/api/v1/user/signup", new { email = "ada.l@example.com", password = "long enough password", name = "\u0410da Lovelace" });  // a Cyrillic А
        reply.Is(HttpStatusCode.OK);
        Assert.Equal("ada.l", await ScalarAsync("SELECT username FROM users"));
    }

    async Task<string?> ScalarAsync(string sql)
    {
        await using var connection = await Api.Db.OpenConnectionAsync();
        return await Dapper.SqlMapper.ExecuteScalarAsync<string>(connection, sql);
    }
}

public sealed class CompatInProcess(InProcessApi api) : CompatTests(api), IClassFixture<InProcessApi>;
public sealed class CompatBinary(BinaryApi api) : CompatTests(api), IClassFixture<BinaryApi>;
