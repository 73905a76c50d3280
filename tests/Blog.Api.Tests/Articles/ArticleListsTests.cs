using System.Net;
using System.Text.Json;
using Blog.Api.Articles;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Articles;

public abstract class ArticleListsTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task The_list_is_newest_first_without_bodies_with_the_total_count()
    {
        var author = await Register("author");
        for (var i = 1; i <= 3; i++) await CreateArticle(author, $"Article {i}");

        var reply = await Get("/api/articles");

        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal(3, reply["articlesCount"].GetInt64());
        var articles = reply["articles"].EnumerateArray().ToArray();
        Assert.Equal(["Article 3", "Article 2", "Article 1"], articles.Select(a => a.GetProperty("title").GetString()));
        Assert.All(articles, a => Assert.False(a.TryGetProperty("body", out _), "list items leave out body"));
        Assert.All(articles, a => Assert.Equal(author.Username, a.GetProperty("author").GetProperty("username").GetString()));
    }

    [Fact]
    public async Task Limit_and_offset_page_through_while_the_count_stays_the_total()
    {
        var author = await Register("author");
        for (var i = 1; i <= 5; i++) await CreateArticle(author, $"Article {i}");

        var page = await Get("/api/articles?limit=2&offset=1");
        Assert.Equal(5, page["articlesCount"].GetInt64());
        Assert.Equal(["Article 4", "Article 3"], Titles(page));

        var past = await Get("/api/articles?limit=2&offset=10");
        past.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Empty(Titles(past));
        Assert.Equal(5, past["articlesCount"].GetInt64());

        var last = await Get("/api/articles?limit=20&offset=4");
        Assert.Equal(["Article 1"], Titles(last));
    }

    [Fact]
    public async Task Filters_by_tag_author_and_favoriting_user_combine()
    {
        var alice = await Register("alice");
        var bob = await Register("bob");
        var fan = await Register("fan");
        await CreateArticle(alice, "Alice dragons", "dragons");
        var aliceBoth = (await CreateArticle(alice, "Alice dragons and cats", "dragons", "cats")).GetProperty("slug").GetString();
        var bobDragons = (await CreateArticle(bob, "Bob dragons", "dragons")).GetProperty("slug").GetString();
        await Post($"/api/articles/{aliceBoth}/favorite", null, fan.Token);
        await Post($"/api/articles/{bobDragons}/favorite", null, fan.Token);

        Assert.Equal(["Bob dragons", "Alice dragons and cats", "Alice dragons"], Titles(await Get("/api/articles?tag=dragons")));
        Assert.Equal(["Alice dragons and cats"], Titles(await Get("/api/articles?tag=cats")));
        Assert.Equal(["Alice dragons and cats", "Alice dragons"], Titles(await Get($"/api/articles?author={alice.Username}")));
        Assert.Equal(["Bob dragons", "Alice dragons and cats"], Titles(await Get($"/api/articles?favorited={fan.Username}")));

        var combined = await Get($"/api/articles?tag=dragons&author={alice.Username}&favorited={fan.Username}");
        combined.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal(["Alice dragons and cats"], Titles(combined));
        Assert.Equal(1, combined["articlesCount"].GetInt64());

        var none = await Get("/api/articles?author=nobody-at-all");
        Assert.Empty(Titles(none));
        Assert.Equal(0, none["articlesCount"].GetInt64());
    }

    /// <summary>Each filter combination sends its own statement, set to run on its generic plan (ListPlansTests).</summary>
    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(false, true, false)]
    [InlineData(false, false, true)]
    [InlineData(true, true, false)]
    [InlineData(true, false, true)]
    [InlineData(false, true, true)]
    [InlineData(true, true, true)]
    public async Task Each_filter_combination_sends_its_own_statement(bool tag, bool author, bool favorited)
    {
        var user = await Register("user");
        string?[] filters = [tag ? "tag=dragons" : null, author ? $"author={user.Username}" : null, favorited ? $"favorited={user.Username}" : null];
        var reply = await Get($"/api/articles?{string.Join('&', filters.OfType<string>())}", user.Token);
        reply.Is(HttpStatusCode.OK).Sent(ArticleLists.Sent(ArticleLists.ListSql(tag, author, favorited)));
    }

    [Fact]
    public async Task Favorited_and_following_are_relative_to_the_caller()
    {
        var author = await Register("author");
        var fan = await Register("fan");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        await Post($"/api/articles/{slug}/favorite", null, fan.Token);
        await Post($"/api/profiles/{author.Username}/follow", null, fan.Token);

        var asFan = (await Get("/api/articles", fan.Token))["articles"][0];
        Assert.True(asFan.GetProperty("favorited").GetBoolean());
        Assert.True(asFan.GetProperty("author").GetProperty("following").GetBoolean());
        Assert.Equal(1, asFan.GetProperty("favoritesCount").GetInt64());

        var anonymous = (await Get("/api/articles"))["articles"][0];
        Assert.False(anonymous.GetProperty("favorited").GetBoolean());
        Assert.False(anonymous.GetProperty("author").GetProperty("following").GetBoolean());
        Assert.Equal(1, anonymous.GetProperty("favoritesCount").GetInt64());
    }

    [Theory]
    [InlineData("limit=0", "limit", "must be greater than or equal to 1")]
    [InlineData("limit=101", "limit", "must be less than or equal to 100")]
    [InlineData("limit=abc", "limit", "is not a number")]
    [InlineData("limit=1.5", "limit", "is not a number")]
    [InlineData("offset=-1", "offset", "must be greater than or equal to 0")]
    [InlineData("offset=ten", "offset", "is not a number")]
    [InlineData("offset=99999999999999999999999", "offset", "is not a number")]
    [InlineData("offset=10001", "offset", "must be less than or equal to 10000")]
    [InlineData("offset=2000000000", "offset", "must be less than or equal to 10000")]
    public async Task Out_of_range_or_non_numeric_paging_is_422(string query, string field, string message)
    {
        (await Get($"/api/articles?{query}")).IsError(422, field, message).TookRoundTrips(0);
        var user = await Register();
        (await Get($"/api/articles/feed?{query}", user.Token)).IsError(422, field, message);
    }

    [Fact]
    public async Task The_feed_holds_articles_by_followed_authors_newest_first()
    {
        var followed = await Register("followed");
        var ignored = await Register("ignored");
        var reader = await Register("reader");
        await CreateArticle(followed, "Followed 1");
        await CreateArticle(ignored, "Ignored");
        await CreateArticle(followed, "Followed 2");
        await Post($"/api/profiles/{followed.Username}/follow", null, reader.Token);

        var feed = await Get("/api/articles/feed", reader.Token);

        feed.Is(HttpStatusCode.OK).TookRoundTrips(1).Sent(ArticleLists.Sent(ArticleLists.FeedSql));
        Assert.Equal(["Followed 2", "Followed 1"], Titles(feed));
        Assert.Equal(2, feed["articlesCount"].GetInt64());
        Assert.All(feed["articles"].EnumerateArray(), a => Assert.True(a.GetProperty("author").GetProperty("following").GetBoolean()));
        Assert.Equal(["Followed 1"], Titles(await Get("/api/articles/feed?limit=1&offset=1", reader.Token)));
    }

    [Fact]
    public async Task The_feed_of_someone_who_follows_nobody_is_empty()
    {
        var loner = await Register("loner");
        await CreateArticle(loner, "My own");
        var feed = await Get("/api/articles/feed", loner.Token);
        Assert.Empty(Titles(feed));
        Assert.Equal(0, feed["articlesCount"].GetInt64());
    }

    [Fact]
    public async Task The_feed_needs_a_token()
    {
        (await Get("/api/articles/feed")).IsError(401, "token", "is missing").TookRoundTrips(0);
    }

    static string[] Titles(Reply reply) => [.. reply.Is(HttpStatusCode.OK)["articles"].EnumerateArray().Select(a => a.GetProperty("title").GetString()!)];
}

public sealed class ArticleListsInProcess(InProcessApi api) : ArticleListsTests(api), IClassFixture<InProcessApi>;
public sealed class ArticleListsBinary(BinaryApi api) : ArticleListsTests(api), IClassFixture<BinaryApi>;
