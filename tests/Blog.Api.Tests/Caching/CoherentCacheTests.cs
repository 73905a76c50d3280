using System.Net;
using Blog.Api.Tests.Infrastructure;
using Dapper;

namespace Blog.Api.Tests.Caching;

/// <summary>
/// The edge cache with a listener (DIRECT_DATABASE_URL): each write evicts exactly what it
/// changed, whichever surface made it. To tell a cached answer from a fresh one, the tests
/// change the data behind the API's back (a "sentinel" that publishes nothing) before the
/// write: an answer that shows the sentinel was read again; one that does not came from the cache.
/// </summary>
public abstract class CoherentCacheTests(ApiFixture api) : ApiTests(api)
{
    int sentinel;

    /// <summary>Waits until the listener is connected: an anonymous read is then stored and served again.</summary>
    protected async Task CacheServesAsync(string path = "/api/tags")
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            await Get(path);
            if ((await Get(path)).Headers.Age is not null) return;
            await Task.Delay(50);
        }
        Assert.Fail("The cache never served an answer: the listener did not connect.");
    }

    /// <summary>Changes every user's bio and adds a tag, publishing nothing; returns the text that shows it.</summary>
    async Task<string> SentinelAsync()
    {
        var mark = $"sentinel{++sentinel}";
        await using var connection = await Api.Db.OpenConnectionAsync();
        await connection.ExecuteAsync("UPDATE users SET bio = @mark; INSERT INTO tags (name, uses) VALUES (@mark, 1)", new { mark });
        return mark;
    }

    /// <summary>The answers (of <paramref name="paths"/>) that a write (<paramref name="write"/>) made fresh.</summary>
    async Task<string[]> FreshAfter(string[] paths, Func<Task> write)
    {
        // The listener hears the last write a moment after its answer (and evicts again): let it, then cache every answer.
        await Task.Delay(100);
        foreach (var path in paths) await CacheServesAsync(path);
        var mark = await SentinelAsync();
        await write();
        var fresh = new List<string>();
        foreach (var path in paths)
        {
            var reply = (await Get(path)).Is(HttpStatusCode.OK);
            if (reply.Text.Contains(mark, StringComparison.Ordinal)) fresh.Add(path);
        }
        return [.. fresh];
    }

    [Fact]
    public async Task Each_write_evicts_exactly_the_answers_that_show_what_it_changed()
    {
        var alice = await Register("alice");
        var bob = await Register("bob");
        var x = (await CreateArticle(alice, "Article X", "tx")).GetProperty("slug").GetString()!;
        var y = (await CreateArticle(bob, "Article Y", "ty")).GetProperty("slug").GetString()!;
        // W keeps alice in the "ty" list and in bob's favorites when X and Y leave them (an empty list shows no sentinel).
        var w = (await CreateArticle(alice, "Article W", "ty")).GetProperty("slug").GetString()!;
        (await Post($"/api/articles/{w}/favorite", null, bob.Token)).Is(HttpStatusCode.OK);
        (await Post($"/api/articles/{x}/comments", new { comment = new { body = "by alice" } }, alice.Token)).Is(HttpStatusCode.Created);
        (await Post($"/api/articles/{y}/comments", new { comment = new { body = "by bob" } }, bob.Token)).Is(HttpStatusCode.Created);
        await CacheServesAsync();

        const string all = "/api/articles", tags = "/api/tags", tx = "/api/articles?tag=tx", ty = "/api/articles?tag=ty";
        string byAlice = $"/api/articles?author={alice.Username}", byBob = $"/api/articles?author={bob.Username}";
        string favoritedByBob = $"/api/articles?favorited={bob.Username}";
        string articleX = $"/api/articles/{x}", articleY = $"/api/articles/{y}";
        string commentsX = $"{articleX}/comments", commentsY = $"{articleY}/comments";
        string profileAlice = $"/api/profiles/{alice.Username}", profileBob = $"/api/profiles/{bob.Username}";
        string[] paths = [all, tags, tx, ty, byAlice, byBob, favoritedByBob, articleX, articleY, commentsX, commentsY, profileAlice, profileBob];

        // One new comment: that article's comments, nothing else.
        Assert.Equal([commentsX], await FreshAfter(paths, () =>
            Post($"{articleX}/comments", new { comment = new { body = "another" } }, bob.Token)));

        // A favorite: the article wherever it is shown, and the favoriting user's list.
        Assert.Equal([all, tx, byAlice, favoritedByBob, articleX], await FreshAfter(paths, () =>
            Post($"{articleX}/favorite", null, bob.Token)));

        // A new body: the article wherever it is shown.
        Assert.Equal([all, ty, byBob, articleY], await FreshAfter(paths, () =>
            Put(articleY, new { article = new { body = "new body" } }, bob.Token)));

        // New tags: also the lists of the tags it left and joined, and the tag list.
        Assert.Equal([all, tags, ty, byBob, articleY], await FreshAfter(paths, () =>
            Put(articleY, new { article = new { tagList = new[] { "tz" } } }, bob.Token)));

        // A profile edit: everything that shows the author (X and W show alice).
        Assert.Equal([all, tx, ty, byAlice, favoritedByBob, articleX, commentsX, profileAlice], await FreshAfter(paths, () =>
            Put("/api/user", new { user = new { image = "https://example.com/alice.png" } }, alice.Token)));

        // A new article: the lists it joins, and the tag list.
        Assert.Equal([all, tags, tx, byBob], await FreshAfter(paths, () => CreateArticle(bob, "Article Z", "tx")));

        // A v1 blog: the unfiltered list and its author's.
        Assert.Equal([all, tags, byAlice], await FreshAfter(paths, () =>
            Post("/api/v1/blog", new { title = "A v1 post", content = "Its content" }, alice.Token)));

        // Unfavoriting: as favoriting.
        Assert.Equal([all, tx, byAlice, favoritedByBob, articleX], await FreshAfter(paths, () =>
            Delete($"{articleX}/favorite", bob.Token)));

        // Deleting an article: its answers, every list it was in, every favorites list, the tag list.
        Assert.Equal([all, tags, tx, byAlice, favoritedByBob, articleX, commentsX], (await FreshAfter(paths.Where(p => p != articleX && p != commentsX).ToArray(), () =>
            Delete(articleX, alice.Token))).Concat([articleX, commentsX]).ToArray());
        (await Get(articleX)).Is(HttpStatusCode.NotFound);
        (await Get(commentsX)).Is(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_renamed_author_moves_the_lists_filtered_by_either_name()
    {
        var alice = await Register("alice");
        await CreateArticle(alice, "Article by alice");
        await CacheServesAsync();
        const string newName = "alice-renamed";
        var byOld = $"/api/articles?author={alice.Username}";
        var byNew = $"/api/articles?author={newName}";
        Assert.Equal(1, (await Get(byOld))["articlesCount"].GetInt64());
        Assert.Equal(0, (await Get(byNew))["articlesCount"].GetInt64());

        (await Put("/api/user", new { user = new { username = newName } }, alice.Token)).Is(HttpStatusCode.OK);

        Assert.Equal(0, (await Get(byOld))["articlesCount"].GetInt64());
        Assert.Equal(1, (await Get(byNew))["articlesCount"].GetInt64());
    }

    [Fact]
    public async Task Answers_vary_only_by_the_parameters_an_endpoint_reads_and_paths_keep_their_case()
    {
        var alice = await Register("alice");
        var slug = (await CreateArticle(alice, "Case matters")).GetProperty("slug").GetString()!;
        await CacheServesAsync($"/api/articles/{slug}");

        // Junk parameters make no new entries: the cached answer serves them all.
        await CacheServesAsync($"/api/articles/{slug}");
        for (var i = 0; i < 5; i++) Assert.NotNull((await Get($"/api/articles/{slug}?junk={i}")).Is(HttpStatusCode.OK).Headers.Age);
        await CacheServesAsync("/api/tags");
        Assert.NotNull((await Get($"/api/tags?junk={Guid.NewGuid()}")).Headers.Age);
        // Parameters that change the answer are part of the key.
        Assert.Null((await Get($"/api/articles?limit=1&junk=1")).Headers.Age);
        await CacheServesAsync("/api/articles?limit=1&junk=1");
        Assert.NotNull((await Get($"/api/articles?limit=1&junk=2")).Headers.Age);
        Assert.Null((await Get($"/api/articles?limit=2&junk=1")).Headers.Age);
        // Slugs are case-sensitive: another case is another article (none), not the cached one.
        (await Get($"/api/articles/{slug.ToUpperInvariant()}")).Is(HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("Alice")]
    [InlineData("bob.smith-2")]
    [InlineData("ａｌｉｃｅ")]
    [InlineData("Zoë")]
    [InlineData("аlice")]
    public async Task Usernames_are_named_alike_by_writes_in_SQL_and_by_reads_in_CSharp_or_not_stored(string name)
    {
        await using var connection = await Api.Db.OpenConnectionAsync();
        var written = await connection.ExecuteScalarAsync<string>("SELECT cache_name(normalize(@name, NFKC))", new { name });
        var read = Blog.Api.Caching.CacheTags.Name(name);
        // ASCII is named alike on both sides, in any case; other names are not stored when read.
        if (name.All(char.IsAscii)) Assert.Equal(written, read);
        else Assert.Null(read);
        if (read is not null) Assert.Equal(written, Blog.Api.Caching.CacheTags.Name(name.ToUpperInvariant()));
    }

    [Fact]
    public async Task Signed_in_readers_bypass_the_cache()
    {
        var alice = await Register("alice");
        await CreateArticle(alice, "Seen by all");
        await CacheServesAsync("/api/articles");
        var mark = await SentinelAsync();
        Assert.DoesNotContain(mark, (await Get("/api/articles")).Text, StringComparison.Ordinal);
        Assert.Contains(mark, (await Get("/api/articles", alice.Token)).Text, StringComparison.Ordinal);
        Assert.Null((await Get("/api/articles", alice.Token)).Headers.Age);
    }
}

/// <summary>The cache's settings: on (by default) because a direct URL gives it a listener.</summary>
static class CoherentCache
{
    public static IReadOnlyDictionary<string, string?> Settings(ApiFixture fixture) => new Dictionary<string, string?>
    {
        ["DIRECT_DATABASE_URL"] = fixture.ConnectionString,
    };
}

public sealed class CoherentCacheInProcessApi : InProcessApi
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => CoherentCache.Settings(this);
}

public sealed class CoherentCacheBinaryApi : BinaryApi
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => CoherentCache.Settings(this);
}

public sealed class CoherentCacheInProcess(CoherentCacheInProcessApi api) : CoherentCacheTests(api), IClassFixture<CoherentCacheInProcessApi>;
public sealed class CoherentCacheBinary(CoherentCacheBinaryApi api) : CoherentCacheTests(api), IClassFixture<CoherentCacheBinaryApi>;
