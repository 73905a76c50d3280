using System.Net;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Tags;

public abstract class TagsTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task Tags_in_use_are_listed_most_used_first()
    {
        var author = await Register("author");
        await CreateArticle(author, "One", "rare", "common");
        await CreateArticle(author, "Two", "common", "middle");
        await CreateArticle(author, "Three", "common", "middle");
        var gone = (await CreateArticle(author, "Four", "unused-soon")).GetProperty("slug").GetString();
        await Delete($"/api/articles/{gone}", author.Token);

        var reply = await Get("/api/tags");

        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal(["common", "middle", "rare"], reply["tags"].EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task Retagging_moves_an_article_between_tags_in_the_ranking()
    {
        var author = await Register("author");
        var first = (await CreateArticle(author, "One", "old", "shared")).GetProperty("slug").GetString();
        await CreateArticle(author, "Two", "shared", "other");
        await CreateArticle(author, "Three", "other");

        await Put($"/api/articles/{first}", new { article = new { tagList = new[] { "other", "new" } } }, author.Token);

        Assert.Equal(["other", "new", "shared"], (await Get("/api/tags"))["tags"].EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task With_no_articles_the_tag_list_is_empty()
    {
        var reply = await Get("/api/tags");
        reply.Is(HttpStatusCode.OK);
        Assert.Equal(0, reply["tags"].GetArrayLength());
    }
}

public sealed class TagsInProcess(InProcessApi api) : TagsTests(api), IClassFixture<InProcessApi>;
public sealed class TagsBinary(BinaryApi api) : TagsTests(api), IClassFixture<BinaryApi>;
