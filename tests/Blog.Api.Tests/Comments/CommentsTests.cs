using System.Net;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Comments;

public abstract class CommentsTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task Add_answers_201_with_the_comment_and_the_list_is_oldest_first()
    {
        var author = await Register("author");
        var reader = await Register("reader");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();

        var first = await Post($"/api/articles/{slug}/comments", new { comment = new { body = "Thank you so much!" } }, reader.Token);
        first.Is(HttpStatusCode.Created).TookRoundTrips(1);
        var comment = first["comment"];
        Assert.True(comment.GetProperty("id").GetInt64() > 0);
        Assert.Equal("Thank you so much!", comment.GetProperty("body").GetString());
        Assert.Equal(reader.Username, comment.GetProperty("author").GetProperty("username").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", comment.GetProperty("createdAt").GetString());
        await Post($"/api/articles/{slug}/comments", new { comment = new { body = "Second" } }, author.Token);

        var list = await Get($"/api/articles/{slug}/comments");

        list.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal(["Thank you so much!", "Second"], list["comments"].EnumerateArray().Select(c => c.GetProperty("body").GetString()));
    }

    [Fact]
    public async Task An_article_without_comments_has_an_empty_list_and_an_unknown_one_is_404()
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        var list = await Get($"/api/articles/{slug}/comments");
        list.Is(HttpStatusCode.OK);
        Assert.Equal(0, list["comments"].GetArrayLength());
        (await Get("/api/articles/nope/comments")).IsError(404, "article", "not found").TookRoundTrips(1);
        (await Post("/api/articles/nope/comments", new { comment = new { body = "hi" } }, author.Token)).IsError(404, "article", "not found").TookRoundTrips(1);
    }

    [Fact]
    public async Task Following_in_comments_is_relative_to_the_caller()
    {
        var author = await Register("author");
        var reader = await Register("reader");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        await Post($"/api/articles/{slug}/comments", new { comment = new { body = "by the author" } }, author.Token);
        await Post($"/api/profiles/{author.Username}/follow", null, reader.Token);

        Assert.True((await Get($"/api/articles/{slug}/comments", reader.Token))["comments"][0].GetProperty("author").GetProperty("following").GetBoolean());
        Assert.False((await Get($"/api/articles/{slug}/comments"))["comments"][0].GetProperty("author").GetProperty("following").GetBoolean());
    }

    [Fact]
    public async Task A_blank_or_overlong_comment_is_422_and_adding_needs_a_token()
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        (await Post($"/api/articles/{slug}/comments", new { comment = new { body = "  " } }, author.Token)).IsError(422, "body", "can't be blank").TookRoundTrips(0);
        (await Post($"/api/articles/{slug}/comments", new { comment = new { } }, author.Token)).IsError(422, "body", "can't be blank");
        (await Post($"/api/articles/{slug}/comments", new { comment = new { body = new string('c', 10_001) } }, author.Token))
            .IsError(422, "body", "is too long (maximum is 10000 characters)");
        (await Post($"/api/articles/{slug}/comments", new { comment = new { body = "hi" } })).IsError(401, "token", "is missing").TookRoundTrips(0);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM comments"));
    }

    [Fact]
    public async Task Only_the_comments_author_deletes_it()
    {
        var author = await Register("author");
        var commenter = await Register("commenter");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        var id = (await Post($"/api/articles/{slug}/comments", new { comment = new { body = "mine" } }, commenter.Token))["comment"].GetProperty("id").GetInt64();

        (await Delete($"/api/articles/{slug}/comments/{id}", author.Token)).IsError(403, "comment", "forbidden").TookRoundTrips(1);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM comments"));

        (await Delete($"/api/articles/{slug}/comments/{id}", commenter.Token)).Is(HttpStatusCode.NoContent).TookRoundTrips(1);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM comments"));
        (await Delete($"/api/articles/{slug}/comments/{id}", commenter.Token)).IsError(404, "comment", "not found").TookRoundTrips(1);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("99999999999999999999999")]
    [InlineData("999999")]
    public async Task A_comment_id_that_is_not_a_number_or_names_no_comment_is_404(string id)
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        (await Delete($"/api/articles/{slug}/comments/{id}", author.Token)).IsError(404, "comment", "not found");
    }

    [Fact]
    public async Task Deleting_a_comment_of_another_article_or_of_an_unknown_article_is_404()
    {
        var author = await Register("author");
        var first = (await CreateArticle(author, "First")).GetProperty("slug").GetString();
        var second = (await CreateArticle(author, "Second")).GetProperty("slug").GetString();
        var id = (await Post($"/api/articles/{first}/comments", new { comment = new { body = "on first" } }, author.Token))["comment"].GetProperty("id").GetInt64();

        (await Delete($"/api/articles/{second}/comments/{id}", author.Token)).IsError(404, "comment", "not found");
        (await Delete($"/api/articles/nope/comments/{id}", author.Token)).IsError(404, "article", "not found");
        (await Delete($"/api/articles/{first}/comments/{id}")).IsError(401, "token", "is missing");
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM comments"));
    }

    [Fact]
    public async Task Commenting_while_the_article_is_deleted_ends_in_201_or_404_never_500()
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();

        var comments = Enumerable.Range(0, 20).Select(i => Post($"/api/articles/{slug}/comments", new { comment = new { body = $"c{i}" } }, author.Token)).ToList();
        var deletion = Delete($"/api/articles/{slug}", author.Token);
        var replies = await Task.WhenAll(comments);

        (await deletion).Is(HttpStatusCode.NoContent);
        Assert.All(replies, r => Assert.True(r.Status is HttpStatusCode.Created || r.Status == HttpStatusCode.NotFound, r.Text));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM comments"));
    }
}

public sealed class CommentsInProcess(InProcessApi api) : CommentsTests(api), IClassFixture<InProcessApi>;
public sealed class CommentsBinary(BinaryApi api) : CommentsTests(api), IClassFixture<BinaryApi>;
