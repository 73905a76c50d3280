using System.Net;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Articles;

public abstract class FavoritesTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task Favorite_and_unfavorite_update_the_flag_and_count_and_are_idempotent()
    {
        var author = await Register("author");
        var fan = await Register("fan");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();

        var favorited = await Post($"/api/articles/{slug}/favorite", null, fan.Token);
        favorited.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.True(favorited["article"].GetProperty("favorited").GetBoolean());
        Assert.Equal(1, favorited["article"].GetProperty("favoritesCount").GetInt64());

        var again = await Post($"/api/articles/{slug}/favorite", null, fan.Token);
        Assert.Equal(1, again["article"].GetProperty("favoritesCount").GetInt64());

        var unfavorited = await Delete($"/api/articles/{slug}/favorite", fan.Token);
        unfavorited.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.False(unfavorited["article"].GetProperty("favorited").GetBoolean());
        Assert.Equal(0, unfavorited["article"].GetProperty("favoritesCount").GetInt64());
        Assert.Equal(0, (await Delete($"/api/articles/{slug}/favorite", fan.Token))["article"].GetProperty("favoritesCount").GetInt64());
    }

    [Fact]
    public async Task Favorites_need_a_token()
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        (await Post($"/api/articles/{slug}/favorite")).IsError(401, "token", "is missing").TookRoundTrips(0);
        (await Delete($"/api/articles/{slug}/favorite")).IsError(401, "token", "is missing").TookRoundTrips(0);
    }

    [Fact]
    public async Task A_favorite_storm_leaves_the_count_exact()
    {
        var author = await Register("author");
        var fans = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Register("fan")));
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();

        var storm = await Task.WhenAll(fans.SelectMany(fan => Enumerable.Range(0, 6).Select(i => i % 2 == 0
            ? Post($"/api/articles/{slug}/favorite", null, fan.Token)
            : Delete($"/api/articles/{slug}/favorite", fan.Token))));
        Assert.All(storm, reply => reply.Is(HttpStatusCode.OK));
        await Task.WhenAll(fans.Take(5).Select(fan => Post($"/api/articles/{slug}/favorite", null, fan.Token)));
        await Task.WhenAll(fans.Skip(5).Select(fan => Delete($"/api/articles/{slug}/favorite", fan.Token)));

        var article = (await Get($"/api/articles/{slug}"))["article"];
        Assert.Equal(5, article.GetProperty("favoritesCount").GetInt64());
        Assert.Equal(5, await CountAsync("SELECT count(*) FROM favorites"));
    }

    [Fact]
    public async Task The_count_follows_favorites_written_outside_the_API()
    {
        var author = await Register("author");
        var fans = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Register("fan")));
        var first = (await CreateArticle(author, "First")).GetProperty("slug").GetString();
        await CreateArticle(author, "Second");

        // Many rows in one statement, as a seed writes them.
        await ExecuteAsync("INSERT INTO favorites (user_id, article_id) SELECT u.id, a.id FROM users u CROSS JOIN articles a WHERE u.username <> @name", new { name = author.Username });
        await AssertCountsShownTo(author, 3, 3);

        // A user's favorites go with the account.
        await ExecuteAsync("DELETE FROM users WHERE username = @name", new { name = fans[0].Username });
        await AssertCountsShownTo(author, 2, 2);

        await ExecuteAsync("DELETE FROM favorites WHERE article_id = (SELECT id FROM articles WHERE slug = @first)", new { first });
        await AssertCountsShownTo(author, 2, 0);

        await ExecuteAsync("TRUNCATE favorites");
        await AssertCountsShownTo(author, 0, 0);
    }

    /// <summary>Checks the favoritesCount of each article in the list, newest first (signed in: not from the edge cache).</summary>
    async Task AssertCountsShownTo(TestUser user, params long[] expected)
    {
        var list = (await Get("/api/articles", user.Token)).Is(HttpStatusCode.OK);
        Assert.Equal(expected, list["articles"].EnumerateArray().Select(article => article.GetProperty("favoritesCount").GetInt64()));
    }
}

public sealed class FavoritesInProcess(InProcessApi api) : FavoritesTests(api), IClassFixture<InProcessApi>;
public sealed class FavoritesBinary(BinaryApi api) : FavoritesTests(api), IClassFixture<BinaryApi>;
