using System.Net;
using Blog.Api.Tests.Infrastructure;
using Dapper;

namespace Blog.Api.Tests.Hosting;

/// <summary>The edge cache (CACHE_SECONDS) and CORS restricted to configured origins.</summary>
public abstract class EdgeTests(ApiFixture api) : ApiTests(api)
{
    public const string Origin = "https://app.example.com";

    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["CACHE_SECONDS"] = "60",
        ["CORS_ORIGINS"] = $"{Origin}, https://other.example.com",
    };

    async Task InsertArticleBehindTheApisBack(string title)
    {
        await using var connection = await Api.Db.OpenConnectionAsync();
        await connection.ExecuteAsync("""
            INSERT INTO articles (slug, title, description, body, author_id)
            SELECT @slug, @title, 'd', 'b', id FROM users LIMIT 1
            """, new { slug = Guid.NewGuid().ToString("N"), title });
    }

    [Fact]
    public async Task Anonymous_reads_are_served_from_the_cache_until_a_write_evicts_them()
    {
        var author = await Register("author");
        await CreateArticle(author, "Through the API");

        var first = await Get("/api/articles");
        await InsertArticleBehindTheApisBack("Behind the API's back");
        var cached = await Get("/api/articles");

        cached.Is(HttpStatusCode.OK).TookRoundTrips(0);
        Assert.Equal(first.Text, cached.Text);
        Assert.Equal(1, cached["articlesCount"].GetInt64());

        var slug = (await CreateArticle(author, "A write")).GetProperty("slug").GetString();
        var fresh = await Get("/api/articles");
        Assert.Equal(3, fresh["articlesCount"].GetInt64());

        (await Get($"/api/articles/{slug}")).Is(HttpStatusCode.OK);
        await Post($"/api/articles/{slug}/favorite", null, author.Token);
        Assert.Equal(1, (await Get($"/api/articles/{slug}"))["article"].GetProperty("favoritesCount").GetInt64());
    }

    [Fact]
    public async Task Signed_in_readers_never_get_a_cached_or_shared_view()
    {
        var author = await Register("author");
        var fan = await Register("fan");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        await Post($"/api/articles/{slug}/favorite", null, fan.Token);

        var asFan = await Get("/api/articles", fan.Token);
        var anonymous = await Get("/api/articles");
        var asAuthor = await Get("/api/articles", author.Token);

        Assert.True(asFan["articles"][0].GetProperty("favorited").GetBoolean());
        Assert.False(anonymous["articles"][0].GetProperty("favorited").GetBoolean());
        Assert.False(asAuthor["articles"][0].GetProperty("favorited").GetBoolean());
        await InsertArticleBehindTheApisBack("Fresh for readers with a token");
        var again = await Get("/api/articles", fan.Token);
        again.TookRoundTrips(1);
        Assert.Equal(2, again["articlesCount"].GetInt64());
    }

    [Fact]
    public async Task Only_configured_origins_may_call_from_a_browser()
    {
        (await Preflight(Origin)).Is(HttpStatusCode.NoContent);
        Assert.Equal(Origin, (await Preflight(Origin)).Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.False((await Preflight("https://evil.example.com")).Headers.Contains("Access-Control-Allow-Origin"));
    }

    Task<Reply> Preflight(string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, "/api/articles");
        request.Headers.Add("Origin", origin);
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        return Send(request);
    }
}

public sealed class EdgeInProcessApi : InProcessApi
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => EdgeTests.Settings;
}

public sealed class EdgeBinaryApi : BinaryApi
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => EdgeTests.Settings;
}

public sealed class EdgeInProcess(EdgeInProcessApi api) : EdgeTests(api), IClassFixture<EdgeInProcessApi>;
public sealed class EdgeBinary(EdgeBinaryApi api) : EdgeTests(api), IClassFixture<EdgeBinaryApi>;
