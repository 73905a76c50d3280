using System.Security.Claims;
using Blog.Api.Auth;
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
    // articles.
    const string AuthorId = "(SELECT id FROM users WHERE lower(username) = lower(@author))";
    const string FavoritedById = "(SELECT id FROM users WHERE lower(username) = lower(@favorited))";
    const string TagId = "(SELECT id FROM tags WHERE name = @tag)";

    static string ByAuthor(string articleId) => $"EXISTS (SELECT 1 FROM articles a WHERE a.id = {articleId} AND a.author_id = {AuthorId})";
    static string FavoritedBy(string articleId) => $"EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = {articleId} AND f.user_id = {FavoritedById})";

    /// <summary>
    /// The page holds the first limit + offset matches; the rows past the offset are the
    /// answer. Past the last page the last match is kept, marked outside the page, so the
    /// total still arrives in a row. Those are never more than a page, and the constant LIMIT
    /// says so to the planner: a generic plan cannot see @limit, and without it would expect
    /// thousands of rows and hash whole tables to join them (ListPlansTests).
    /// </summary>
    static readonly string Articles = $"""
        SELECT shown.n AS articlescount, shown.outsidepage,
               {ArticleSql.Columns}, NULL AS body, {ArticleSql.Favorites}
        FROM (
            SELECT numbered.id, numbered.position <= @offset AS outsidepage, total.n
            FROM total
            CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id DESC) AS position FROM page) AS numbered
            WHERE numbered.position > @offset OR numbered.position = total.n
            LIMIT {Limits.PageSize}
        ) AS shown
        JOIN articles a ON a.id = shown.id
        JOIN users u ON u.id = a.author_id
        ORDER BY a.id DESC
        """;

    /// <summary>A list statement: <paramref name="matches"/> (FROM … WHERE …) drives it by <paramref name="id"/>.</summary>
    static string Statement(string matches, string id, string? total = null) => $"""
        WITH total AS (
            {total ?? $"SELECT count(*) AS n {matches}"}
        ), page AS (
            SELECT {id} AS id {matches}
            ORDER BY {id} DESC LIMIT @limit::bigint + @offset
        )
        {Articles}
        """;

    static string Tagged(bool author, bool favorited) => Statement(
        $"FROM article_tags at WHERE at.tag_id = {TagId}" +
        (author ? " AND " + ByAuthor("at.article_id") : "") +
        (favorited ? " AND " + FavoritedBy("at.article_id") : ""),
        "at.article_id");

    /// <summary>The list statements by filter: [tag?, author?, favorited?], parameters tag, author, favorited, limit, offset, me.</summary>
    static readonly string[] Statements =
    [
        // The total is kept by triggers (migration 0002); read as one value, so the planner
        // counts on one row even before the table has statistics (a guess of thousands of rows
        // once made the plan costly enough for PostgreSQL to JIT-compile it: 300 ms).
        Statement("FROM articles a", "a.id", total: "SELECT (SELECT n FROM article_count) AS n"),
        Statement($"FROM favorites f WHERE f.user_id = {FavoritedById}", "f.article_id"),
        Statement($"FROM articles a WHERE a.author_id = {AuthorId}", "a.id"),
        Statement($"FROM favorites f WHERE f.user_id = {FavoritedById} AND {ByAuthor("f.article_id")}", "f.article_id"),
        Tagged(author: false, favorited: false),
        Tagged(author: false, favorited: true),
        Tagged(author: true, favorited: false),
        Tagged(author: true, favorited: true),
    ];

    /// <summary>The list statement for the filters given.</summary>
    internal static string ListSql(bool tag, bool author, bool favorited) =>
        Statements[(tag ? 4 : 0) + (author ? 2 : 0) + (favorited ? 1 : 0)];

    /// <summary>The feed statement; parameters limit, offset, me.</summary>
    internal static readonly string FeedSql = Statement(
        "FROM articles a WHERE a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = @me)", "a.id");

    public static async Task<Results<Ok<ArticlesResponse>, ApiError>> List(
        string? tag, string? author, string? favorited, string? limit, string? offset, ClaimsPrincipal principal, Db db)
    {
        var check = new Validation();
        var page = Paging.From(check, limit, offset);
        check.Optional("tag", tag, 1000);
        check.Optional("author", author, 1000);
        check.Optional("favorited", favorited, 1000);
        if (check.Failed) return check.Error;

        (tag, author, favorited) = (Validation.NullIfBlank(tag), Validation.NullIfBlank(author), Validation.NullIfBlank(favorited));
        await using var connection = db.Read();
        var rows = await connection.QueryAsync<ArticleRow>(ListSql(tag is not null, author is not null, favorited is not null),
            new { tag, author, favorited, page.Limit, page.Offset, me = principal.OptionalId() });
        return TypedResults.Ok(ToResponse(rows));
    }

    public static async Task<Results<Ok<ArticlesResponse>, ApiError>> Feed(string? limit, string? offset, ClaimsPrincipal principal, Db db)
    {
        var check = new Validation();
        var page = Paging.From(check, limit, offset);
        if (check.Failed) return check.Error;

        await using var connection = db.Read();
        var rows = await connection.QueryAsync<ArticleRow>(FeedSql, new { page.Limit, page.Offset, me = principal.Id() });
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
