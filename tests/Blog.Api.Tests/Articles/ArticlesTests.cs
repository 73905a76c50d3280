using System.Net;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Articles;

public abstract class ArticlesTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task Create_answers_201_with_the_article_as_its_author_sees_it()
    {
        var author = await Register("author");

        var reply = await Post("/api/articles", new
        {
            article = new { title = "How to train your dragon", description = "Ever wonder how?", body = "You have to believe", tagList = new[] { "reactjs", "angularjs", "dragons" } },
        }, author.Token);

        reply.Is(HttpStatusCode.Created).TookRoundTrips(1);
        var article = reply["article"];
        Assert.StartsWith("how-to-train-your-dragon-", article.GetProperty("slug").GetString());
        Assert.Equal("How to train your dragon", article.GetProperty("title").GetString());
        Assert.Equal("Ever wonder how?", article.GetProperty("description").GetString());
        Assert.Equal("You have to believe", article.GetProperty("body").GetString());
        Assert.Equal(["angularjs", "dragons", "reactjs"], Strings(article.GetProperty("tagList")));
        Assert.False(article.GetProperty("favorited").GetBoolean());
        Assert.Equal(0, article.GetProperty("favoritesCount").GetInt64());
        Assert.Equal(author.Username, article.GetProperty("author").GetProperty("username").GetString());
        Assert.False(article.GetProperty("author").GetProperty("following").GetBoolean());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", article.GetProperty("createdAt").GetString());
        Assert.Equal(article.GetProperty("createdAt").GetString(), article.GetProperty("updatedAt").GetString());
    }

    [Fact]
    public async Task Tags_are_trimmed_without_blanks_or_repeats_and_answered_alphabetically_everywhere()
    {
        var author = await Register("author");
        var reader = await Register("reader");
        await Post($"/api/profiles/{author.Username}/follow", null, reader.Token);
        var created = await CreateArticle(author, "Tagged", " zeta ", "alpha", "", "zeta", "  ", "Mid", "mid");
        var slug = created.GetProperty("slug").GetString();
        string[] sorted = ["Mid", "alpha", "mid", "zeta"];  // code point order, as JavaScript's sort()

        Assert.Equal(sorted, Strings(created.GetProperty("tagList")));
        Assert.Equal(sorted, Strings((await Get($"/api/articles/{slug}"))["article"].GetProperty("tagList")));
        Assert.Equal(sorted, Strings((await Get("/api/articles"))["articles"][0].GetProperty("tagList")));
        Assert.Equal(sorted, Strings((await Get("/api/articles/feed", reader.Token))["articles"][0].GetProperty("tagList")));
        Assert.Equal(sorted, Strings((await Post($"/api/articles/{slug}/favorite", null, reader.Token))["article"].GetProperty("tagList")));
        var updated = await Put($"/api/articles/{slug}", new { article = new { tagList = new[] { "training", "dragons" } } }, author.Token);
        Assert.Equal(["dragons", "training"], Strings(updated["article"].GetProperty("tagList")));
        Assert.Equal(["dragons", "training"], Strings((await Get($"/api/articles/{slug}"))["article"].GetProperty("tagList")));
    }

    [Fact]
    public async Task Tags_written_straight_into_the_database_are_answered_too()
    {
        // The seeds and people with psql write article_tags directly; triggers keep each
        // article's answered tag list (articles.tag_list) in step.
        var author = await Register("author");
        var slug = (await CreateArticle(author, "By hand", "kept")).GetProperty("slug").GetString();
        await CountAsync("""
            WITH tag AS (INSERT INTO tags (name) VALUES ('added') RETURNING id)
            INSERT INTO article_tags (article_id, tag_id, position) SELECT a.id, tag.id, 9 FROM articles a, tag WHERE a.slug = @slug
            """, new { slug });
        Assert.Equal(["added", "kept"], Strings((await Get($"/api/articles/{slug}"))["article"].GetProperty("tagList")));

        await CountAsync("DELETE FROM article_tags WHERE tag_id = (SELECT id FROM tags WHERE name = 'kept')");
        Assert.Equal(["added"], Strings((await Get("/api/articles"))["articles"][0].GetProperty("tagList")));
    }

    [Fact]
    public async Task Get_answers_the_article_with_its_body_to_anyone()
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();

        var reply = await Get($"/api/articles/{slug}");

        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal("You have to believe", reply["article"].GetProperty("body").GetString());
        Assert.False(reply["article"].GetProperty("favorited").GetBoolean());
    }

    [Fact]
    public async Task An_unknown_slug_is_404_for_every_article_endpoint()
    {
        var user = await Register();
        (await Get("/api/articles/no-such-article")).IsError(404, "article", "not found").TookRoundTrips(1);
        (await Put("/api/articles/no-such-article", new { article = new { title = "x" } }, user.Token)).IsError(404, "article", "not found").TookRoundTrips(1);
        (await Delete("/api/articles/no-such-article", user.Token)).IsError(404, "article", "not found").TookRoundTrips(1);
        (await Post("/api/articles/no-such-article/favorite", null, user.Token)).IsError(404, "article", "not found").TookRoundTrips(1);
        (await Delete("/api/articles/no-such-article/favorite", user.Token)).IsError(404, "article", "not found").TookRoundTrips(1);
    }

    [Theory]
    [InlineData("title")]
    [InlineData("description")]
    [InlineData("body")]
    public async Task Create_without_a_required_field_is_422_and_stores_nothing(string missing)
    {
        var author = await Register("author");
        var fields = new Dictionary<string, object?> { ["title"] = "t", ["description"] = "d", ["body"] = "b" };
        fields.Remove(missing);
        (await Post("/api/articles", new { article = fields }, author.Token)).IsError(422, missing, "can't be blank").TookRoundTrips(0);
        fields[missing] = " \t ";
        (await Post("/api/articles", new { article = fields }, author.Token)).IsError(422, missing, "can't be blank");
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM articles"));
    }

    [Fact]
    public async Task Create_rejects_wrong_types_overlong_fields_and_too_many_tags()
    {
        var author = await Register("author");
        (await SendRaw(HttpMethod.Post, "/api/articles", """{"article":{"title":1,"description":"d","body":"b"}}"""u8.ToArray(), token: author.Token))
            .IsError(422, "title", "is invalid");
        (await SendRaw(HttpMethod.Post, "/api/articles", """{"article":{"title":"t","description":"d","body":"b","tagList":"x"}}"""u8.ToArray(), token: author.Token))
            .IsError(422, "tagList", "is invalid");
        (await Post("/api/articles", new { article = new { title = new string('t', 201), description = "d", body = "b" } }, author.Token))
            .IsError(422, "title", "is too long (maximum is 200 characters)");
        (await Post("/api/articles", new { article = new { title = "t", description = "d", body = "b", tagList = new[] { new string('x', 51) } } }, author.Token))
            .IsError(422, "tagList", "is too long (maximum is 50 characters)");
        (await Post("/api/articles", new { article = new { title = "t", description = "d", body = "b", tagList = new[] { "two\nlines" } } }, author.Token))
            .IsError(422, "tagList", "is invalid");
        (await Post("/api/articles", new { article = new { title = "t", description = "d", body = "b", tagList = new[] { "evil\u202Etxt" } } }, author.Token))
            .IsError(422, "tagList", "is invalid");
        (await Post("/api/articles", new { article = new { title = "t", description = "d", body = "b", tagList = Enumerable.Range(0, 21).Select(i => $"t{i}") } }, author.Token))
            .IsError(422, "tagList", "is too long (maximum is 20 tags)");
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM articles"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM tags"));
    }

    [Fact]
    public async Task Create_needs_a_token()
    {
        (await Post("/api/articles", new { article = new { title = "t", description = "d", body = "b" } })).IsError(401, "token", "is missing").TookRoundTrips(0);
    }

    [Theory]
    [InlineData("Ça marche, naïve café!", "ca-marche-naive-cafe-")]
    [InlineData("Straße über Ærø", "strasse-uber-aero-")]
    [InlineData("日本語のタイトル", "article-")]
    [InlineData("  C# 10 -- what's new?  ", "c-10-what-s-new-")]
    public async Task Slugs_are_lower_case_URL_safe_and_usable_for_any_title(string title, string prefix)
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author, title)).GetProperty("slug").GetString()!;

        Assert.StartsWith(prefix, slug);
        Assert.Matches("^[a-z0-9]+(-[a-z0-9]+)*$", slug);
        (await Get($"/api/articles/{slug}")).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Articles_with_one_title_created_at_once_get_different_slugs()
    {
        var authors = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Register("author")));

        var replies = await Task.WhenAll(authors.SelectMany(author => Enumerable.Range(0, 5).Select(_ =>
            Post("/api/articles", new { article = new { title = "Same title", description = "d", body = "b", tagList = new[] { "fresh-tag" } } }, author.Token))));

        Assert.All(replies, r => r.Is(HttpStatusCode.Created));
        Assert.Equal(20, replies.Select(r => r["article"].GetProperty("slug").GetString()).Distinct().Count());
        // The new tag was introduced by 20 requests at once: one tag row, linked to every article.
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM tags WHERE name = 'fresh-tag'"));
        Assert.Equal(20, await CountAsync("SELECT count(*) FROM article_tags"));
    }

    [Fact]
    public async Task Update_changes_the_given_fields_and_a_new_title_gives_a_new_slug()
    {
        var author = await Register("author");
        var old = (await CreateArticle(author, "Old title", "keep", "drop")).GetProperty("slug").GetString();

        var reply = await Put($"/api/articles/{old}", new { article = new { title = "New title", body = "New body", tagList = new[] { "new", "keep" } } }, author.Token);

        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        var article = reply["article"];
        var slug = article.GetProperty("slug").GetString();
        Assert.StartsWith("new-title-", slug);
        Assert.Equal("New body", article.GetProperty("body").GetString());
        Assert.Equal("Ever wonder how?", article.GetProperty("description").GetString());
        Assert.Equal(["keep", "new"], Strings(article.GetProperty("tagList")));
        (await Get($"/api/articles/{old}")).IsError(404, "article", "not found");
        var read = await Get($"/api/articles/{slug}");
        Assert.Equal(["keep", "new"], Strings(read["article"].GetProperty("tagList")));
        Assert.True(string.CompareOrdinal(read["article"].GetProperty("updatedAt").GetString(), read["article"].GetProperty("createdAt").GetString()) >= 0);
    }

    [Fact]
    public async Task Update_without_tags_keeps_them_and_an_empty_list_clears_them()
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author, "Tagged", "a", "b")).GetProperty("slug").GetString();

        var kept = await Put($"/api/articles/{slug}", new { article = new { description = "changed" } }, author.Token);
        Assert.Equal(["a", "b"], Strings(kept["article"].GetProperty("tagList")));
        Assert.Equal(slug, kept["article"].GetProperty("slug").GetString());

        var cleared = await Put($"/api/articles/{slug}", new { article = new { tagList = Array.Empty<string>() } }, author.Token);
        Assert.Empty(Strings(cleared["article"].GetProperty("tagList")));
        Assert.Empty(Strings((await Get($"/api/articles/{slug}"))["article"].GetProperty("tagList")));
    }

    [Fact]
    public async Task Only_the_author_may_update_or_delete_and_a_refusal_changes_nothing()
    {
        var author = await Register("author");
        var stranger = await Register("stranger");
        var slug = (await CreateArticle(author, "Mine", "mine")).GetProperty("slug").GetString();

        (await Put($"/api/articles/{slug}", new { article = new { title = "Stolen", tagList = new[] { "stolen" } } }, stranger.Token))
            .IsError(403, "article", "forbidden").TookRoundTrips(1);
        (await Delete($"/api/articles/{slug}", stranger.Token)).IsError(403, "article", "forbidden").TookRoundTrips(1);

        var article = (await Get($"/api/articles/{slug}"))["article"];
        Assert.Equal("Mine", article.GetProperty("title").GetString());
        Assert.Equal(["mine"], Strings(article.GetProperty("tagList")));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM tags WHERE name = 'stolen'"));
    }

    [Fact]
    public async Task Update_cannot_blank_a_field()
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        (await Put($"/api/articles/{slug}", new { article = new { title = "" } }, author.Token)).IsError(422, "title", "can't be blank").TookRoundTrips(0);
        (await Put($"/api/articles/{slug}", new { article = new { body = (string?)null } }, author.Token)).IsError(422, "body", "can't be blank");
        (await Put($"/api/articles/{slug}", new { article = new { title = "x" } })).IsError(401, "token", "is missing");
        (await Put($"/api/articles/{slug}", new { article = new { } }, author.Token)).IsError(422, "article", "can't be blank");
    }

    [Fact]
    public async Task Delete_removes_the_article_with_its_comments_tags_and_favorites()
    {
        var author = await Register("author");
        var reader = await Register("reader");
        var slug = (await CreateArticle(author, "Doomed", "doomed")).GetProperty("slug").GetString();
        await Post($"/api/articles/{slug}/comments", new { comment = new { body = "first!" } }, reader.Token);
        await Post($"/api/articles/{slug}/favorite", null, reader.Token);

        (await Delete($"/api/articles/{slug}", author.Token)).Is(HttpStatusCode.NoContent).TookRoundTrips(1);

        (await Get($"/api/articles/{slug}")).IsError(404, "article", "not found");
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM comments") + await CountAsync("SELECT count(*) FROM favorites") + await CountAsync("SELECT count(*) FROM article_tags"));
        (await Delete($"/api/articles/{slug}", author.Token)).IsError(404, "article", "not found");
        (await Delete($"/api/articles/{slug}")).IsError(401, "token", "is missing");
    }

    [Fact]
    public async Task A_bad_token_on_an_optional_auth_read_is_401_not_anonymous()
    {
        var author = await Register("author");
        var slug = (await CreateArticle(author)).GetProperty("slug").GetString();
        (await Get($"/api/articles/{slug}", author.Token + "x")).IsError(401, "token", "is invalid");
        (await Get("/api/articles", "garbage")).IsError(401, "token", "is invalid");
    }

    internal static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];
}

public sealed class ArticlesInProcess(InProcessApi api) : ArticlesTests(api), IClassFixture<InProcessApi>;
public sealed class ArticlesBinary(BinaryApi api) : ArticlesTests(api), IClassFixture<BinaryApi>;
