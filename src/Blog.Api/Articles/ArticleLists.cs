using System.Security.Claims;
using Blog.Api.Auth;
using Blog.Api.Caching;
using Blog.Api.Data;
using Blog.Api.Http;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Blog.Api.Articles;

/// <summary>The article list and the feed: one statement each, page and total together.</summary>
internal static class ArticleLists
{
    // Statements are prepared (Db), so each runs on a generic plan, made without the values:
    // every filter combination has its own statement, chosen in C#, with no optional
    // conditions to fold. Each is driven by the index that fits its most selective filter: a
    // tag's article_tags, a user's favorites, an author's articles, or all articles by
    // recency; the other filters are checked per row. The page is an index scan in id order
    // that stops after limit + offset rows. ListPlansTests checks the generic plans on 100,000
    // articles. The statements are constants: Dapper.AOT searches a statement it cannot see
    // at build time for each parameter's name, on every call (7% of a list's CPU).
    const string AuthorId = "(SELECT id FROM users WHERE lower(username) = lower(normalize(@author, NFKC)))";
    const string FavoritedById = "(SELECT id FROM users WHERE lower(username) = lower(normalize(@favorited, NFKC)))";
    const string TagId = "(SELECT id FROM tags WHERE name = @tag)";

    /// <summary>At most this many articles are shown: a page (Limits.PageSize), or the one marker row.</summary>
    internal const string MaxShown = "100";

    /// <summary>
    /// The page holds the first limit + offset matches; the rows past the offset are the
    /// answer. Past the last page the last match is kept, marked outside the page, so the
    /// total still arrives in a row. Those are never more than a page, and the constant LIMIT
    /// says so to the planner: a generic plan cannot see @limit, and without it would expect
    /// thousands of rows and hash whole tables to join them (ListPlansTests).
    /// </summary>
    const string Articles = $"""
        SELECT shown.n AS articlescount, shown.outsidepage,
               {ArticleSql.Columns}, NULL AS body, {ArticleSql.Favorites}
        FROM (
            SELECT numbered.id, numbered.position <= @offset AS outsidepage, total.n
            FROM total
            CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id DESC) AS position FROM page) AS numbered
            WHERE numbered.position > @offset OR numbered.position = total.n
            LIMIT {MaxShown}
        ) AS shown
        JOIN articles a ON a.id = shown.id
        JOIN users u ON u.id = a.author_id
        WHERE {CurrentUser.Reading}
        ORDER BY a.id DESC
        """;

    /// <summary>The page of the ids in CTE <c>matches</c>.</summary>
    const string Page = """
        page AS (
            SELECT id FROM matches ORDER BY id DESC LIMIT @limit::bigint + @offset
        )
        """;

    /// <summary>The total and the page of the ids in CTE <c>matches</c> (inlined into each, so each uses its index).</summary>
    const string CountedPage = $"""
        total AS (
            SELECT count(*) AS n FROM matches
        ), {Page}
        """;

    const string Tagged = $"SELECT at.article_id AS id FROM article_tags at WHERE at.tag_id = {TagId}";
    const string Favorites = $"SELECT f.article_id AS id FROM favorites f WHERE f.user_id = {FavoritedById}";
    const string TaggedArticleByAuthor = $"EXISTS (SELECT 1 FROM articles a WHERE a.id = at.article_id AND a.author_id = {AuthorId})";
    const string TaggedArticleFavorited = $"EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = at.article_id AND f.user_id = {FavoritedById})";

    /// <summary>No filter: the total is kept by triggers (migration 0002), read as one value.</summary>
    const string ListAll = $"""
        WITH total AS (
            SELECT (SELECT n FROM article_count) AS n
        ), page AS (
            SELECT id FROM articles ORDER BY id DESC LIMIT @limit::bigint + @offset
        )
        {Articles}
        """;
    const string ListFavorited = $"WITH matches AS NOT MATERIALIZED ({Favorites}), {CountedPage} {Articles}";
    const string ListByAuthor = $"WITH matches AS NOT MATERIALIZED (SELECT a.id FROM articles a WHERE a.author_id = {AuthorId}), {CountedPage} {Articles}";
    const string ListByAuthorFavorited = $"""
        WITH matches AS NOT MATERIALIZED (
            {Favorites} AND EXISTS (SELECT 1 FROM articles a WHERE a.id = f.article_id AND a.author_id = {AuthorId})
        ), {CountedPage} {Articles}
        """;
    /// <summary>A tag alone: its total is kept by triggers too (tags.uses, migration 0003), not counted; the tag is looked up once, for both.</summary>
    const string ListTagged = $"""
        WITH tag AS (
            SELECT id, uses FROM tags WHERE name = @tag
        ), matches AS NOT MATERIALIZED (
            SELECT at.article_id AS id FROM article_tags at WHERE at.tag_id = (SELECT id FROM tag)
        ), total AS (
            SELECT coalesce((SELECT uses FROM tag), 0) AS n
        ), {Page} {Articles}
        """;
    const string ListTaggedFavorited = $"WITH matches AS NOT MATERIALIZED ({Tagged} AND {TaggedArticleFavorited}), {CountedPage} {Articles}";
    const string ListTaggedByAuthor = $"WITH matches AS NOT MATERIALIZED ({Tagged} AND {TaggedArticleByAuthor}), {CountedPage} {Articles}";
    const string ListTaggedByAuthorFavorited = $"""
        WITH matches AS NOT MATERIALIZED ({Tagged} AND {TaggedArticleByAuthor} AND {TaggedArticleFavorited}), {CountedPage} {Articles}
        """;

    /// <summary>The feed statement; parameters limit, offset, me.</summary>
    internal const string FeedSql = $"""
        WITH matches AS NOT MATERIALIZED (
            SELECT a.id FROM articles a WHERE a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = @me)
        ), {CountedPage} {Articles}
        """;

    /// <summary>
    /// Sent around each statement, so that it runs on its generic plan: planned once per
    /// connection, not on every call. PostgreSQL's own choice (plan_cache_mode = auto) compares
    /// estimates, and a generic plan, made without @limit, looks costlier than a custom plan
    /// made for 20 rows: the list and the tag list were planned anew on every call, most of
    /// their database time (#15). ListPlansTests shows each generic plan is as good as the
    /// custom one. The SET lasts only the statement: it runs in the statement's own implicit
    /// transaction, which RESET ends with and an error rolls back, so behind a pooler no other
    /// client's transaction ever sees it. Unprepared, it changes little (each call is planned anyway).
    /// </summary>
    const string GenericPlan = "SET plan_cache_mode = force_generic_plan;\n";
    const string DefaultPlan = ";\nRESET plan_cache_mode";

    /// <summary><paramref name="statement"/> as sent, on its generic plan.</summary>
    internal static string Sent(string statement) => GenericPlan + statement + DefaultPlan;

    // The statements as sent (constants, for Dapper.AOT).
    const string SendAll = GenericPlan + ListAll + DefaultPlan;
    const string SendFavorited = GenericPlan + ListFavorited + DefaultPlan;
    const string SendByAuthor = GenericPlan + ListByAuthor + DefaultPlan;
    const string SendByAuthorFavorited = GenericPlan + ListByAuthorFavorited + DefaultPlan;
    const string SendTagged = GenericPlan + ListTagged + DefaultPlan;
    const string SendTaggedFavorited = GenericPlan + ListTaggedFavorited + DefaultPlan;
    const string SendTaggedByAuthor = GenericPlan + ListTaggedByAuthor + DefaultPlan;
    const string SendTaggedByAuthorFavorited = GenericPlan + ListTaggedByAuthorFavorited + DefaultPlan;
    const string SendFeed = GenericPlan + FeedSql + DefaultPlan;

    /// <summary>The list statement for the filters given; parameters tag, author, favorited, limit, offset, me.</summary>
    internal static string ListSql(bool tag, bool author, bool favorited) => (tag, author, favorited) switch
    {
        (false, false, false) => ListAll,
        (false, false, true) => ListFavorited,
        (false, true, false) => ListByAuthor,
        (false, true, true) => ListByAuthorFavorited,
        (true, false, false) => ListTagged,
        (true, false, true) => ListTaggedFavorited,
        (true, true, false) => ListTaggedByAuthor,
        (true, true, true) => ListTaggedByAuthorFavorited,
    };

    public static async Task<Results<Ok<ArticlesResponse>, ApiError>> List(
        string? tag, string? author, string? favorited, string? limit, string? offset, ClaimsPrincipal principal, Db db, HttpContext http,
        Viewers viewers, EdgeCache cache)
    {
        var check = new Validation();
        var page = Paging.From(check, limit, offset);
        check.Optional("tag", tag, 1000);
        check.Optional("author", author, 1000);
        check.Optional("favorited", favorited, 1000);
        if (check.Failed) return check.Error;

        (tag, author, favorited) = (Validation.NullIfBlank(tag), Validation.NullIfBlank(author), Validation.NullIfBlank(favorited));
        // A signed-in reader: the shared page from the edge cache, with their flags (Caching/Viewers).
        var (viewer, revoked) = viewers.Find(principal);
        if (revoked) return ApiError.TokenInvalid;
        var key = $"list\n{tag}\n{author}\n{favorited}\n{page.Limit}\n{page.Offset}";  // each filter null or not blank
        if (viewer is not null && cache.Answer<ArticleRow[]>(key) is { } shared) return TypedResults.Ok(ToResponse(shared.Select(row => row.For(viewer))));

        var since = cache.Sequence;
        var args = new { tag, author, favorited, page.Limit, page.Offset, me = principal.OptionalId(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() };
        await using var connection = db.Read();
        // The statements of ListSql as sent, one call each, so that each is a constant where it is run.
        var rows = await ((tag, author, favorited) switch
        {
            (null, null, null) => connection.QueryAsync<ArticleRow>(SendAll, args),
            (null, null, _) => connection.QueryAsync<ArticleRow>(SendFavorited, args),
            (null, _, null) => connection.QueryAsync<ArticleRow>(SendByAuthor, args),
            (null, _, _) => connection.QueryAsync<ArticleRow>(SendByAuthorFavorited, args),
            (_, null, null) => connection.QueryAsync<ArticleRow>(SendTagged, args),
            (_, null, _) => connection.QueryAsync<ArticleRow>(SendTaggedFavorited, args),
            (_, _, null) => connection.QueryAsync<ArticleRow>(SendTaggedByAuthor, args),
            _ => connection.QueryAsync<ArticleRow>(SendTaggedByAuthorFavorited, args),
        });
        // For the edge cache: which writes change this answer (CacheTags).
        if (EdgeCache.Stores(http))
        {
            foreach (var shown in Filters(tag, author, favorited)) EdgeCache.Shows(http, shown);
            foreach (var row in rows) row.ShownIn(http);
        }
        if (viewer is not null)
        {
            var tags = Filters(tag, author, favorited);
            foreach (var row in rows) row.ShownIn(tags);
            cache.StoreAnswer(key, rows.Select(row => row.Shared()).ToArray(), rows.Sum(row => row.Bytes), tags, since);
        }
        return TypedResults.Ok(ToResponse(rows));
    }

    /// <summary>The tags of the lists a write can add an article to or take one from (null: a name no tag can name).</summary>
    static List<string?> Filters(string? tag, string? author, string? favorited)
    {
        var tags = new List<string?>();
        if (tag is not null) tags.Add(CacheTags.Tagged(tag));
        if (author is not null) tags.Add(CacheTags.ByAuthor(author));
        if (favorited is not null)
        {
            tags.Add(CacheTags.FavoritedBy(favorited));
            tags.Add(CacheTags.AnyFavorites);
        }
        if ((tag, author, favorited) is (null, null, null)) tags.Add(CacheTags.AllArticles);
        return tags;
    }

    public static async Task<Results<Ok<ArticlesResponse>, ApiError>> Feed(string? limit, string? offset, ClaimsPrincipal principal, Db db)
    {
        var check = new Validation();
        var page = Paging.From(check, limit, offset);
        if (check.Failed) return check.Error;

        await using var connection = db.Read();
        var rows = await connection.QueryAsync<ArticleRow>(SendFeed, new { page.Limit, page.Offset, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        return TypedResults.Ok(ToResponse(rows));
    }

    static ArticlesResponse ToResponse(IEnumerable<ArticleRow> rows)
    {
        var articles = new List<Article>();
        long total = 0;
        foreach (var row in rows)
        {
            total = row.ArticlesCount;
            if (!row.OutsidePage) articles.Add(row.ToArticle());
        }
        return new ArticlesResponse(articles, total);
    }

}
