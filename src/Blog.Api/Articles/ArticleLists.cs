using System.Security.Claims;
using Blog.Api.Auth;
using Blog.Api.Http;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Blog.Api.Articles;

/// <summary>The article list and the feed: one statement each, page and total together.</summary>
internal static class ArticleLists
{
    // Each filter has its own index to drive the list: a tag's article_tags, a user's
    // favorites, an author's articles, or all articles by recency; the other filters are
    // checked per row. Statements are not prepared (PgBouncer), so Postgres plans each run
    // with the actual values: "@tag IS NULL" folds to true or false, the CASE keeps one
    // count and the branches of the page that do not apply are never run. Each branch
    // orders and limits itself, so it is an index scan that stops after limit + offset rows
    // (ListPlansTests checks the plans on 100,000 articles).
    const string AuthorIs = "(SELECT id FROM users WHERE lower(username) = lower(@author))";
    const string FavoritedBy = "(SELECT id FROM users WHERE lower(username) = lower(@favorited))";

    const string TagMatch = $"""
        at.tag_id = (SELECT id FROM tags WHERE name = @tag)
        AND (@author::text IS NULL OR EXISTS (SELECT 1 FROM articles a WHERE a.id = at.article_id AND a.author_id = {AuthorIs}))
        AND (@favorited::text IS NULL OR EXISTS (SELECT 1 FROM favorites f WHERE f.article_id = at.article_id AND f.user_id = {FavoritedBy}))
        """;

    const string FavoriteMatch = $"""
        f.user_id = {FavoritedBy}
        AND (@author::text IS NULL OR EXISTS (SELECT 1 FROM articles a WHERE a.id = f.article_id AND a.author_id = {AuthorIs}))
        """;

    const string ListTotalAndPage = $"""
        total AS (
            SELECT CASE
                WHEN @tag::text IS NOT NULL THEN (SELECT count(*) FROM article_tags at WHERE {TagMatch})
                WHEN @favorited::text IS NOT NULL THEN (SELECT count(*) FROM favorites f WHERE {FavoriteMatch})
                WHEN @author::text IS NOT NULL THEN (SELECT count(*) FROM articles a WHERE a.author_id = {AuthorIs})
                ELSE (SELECT n FROM article_count)  -- kept by triggers (migration 0002)
            END AS n
        ), page AS (
            (SELECT at.article_id AS id FROM article_tags at
             WHERE @tag::text IS NOT NULL AND {TagMatch}
             ORDER BY at.article_id DESC LIMIT @limit::bigint + @offset)
            UNION ALL
            (SELECT f.article_id FROM favorites f
             WHERE @tag::text IS NULL AND @favorited::text IS NOT NULL AND {FavoriteMatch}
             ORDER BY f.article_id DESC LIMIT @limit::bigint + @offset)
            UNION ALL
            (SELECT a.id FROM articles a
             WHERE @tag::text IS NULL AND @favorited::text IS NULL
               AND (@author::text IS NULL OR a.author_id = {AuthorIs})
             ORDER BY a.id DESC LIMIT @limit::bigint + @offset)
        )
        """;

    const string FeedTotalAndPage = """
        total AS (
            SELECT count(*) AS n FROM articles a
            WHERE a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = @me)
        ), page AS (
            SELECT a.id FROM articles a
            WHERE a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = @me)
            ORDER BY a.id DESC LIMIT @limit::bigint + @offset
        )
        """;

    // The page holds the first limit + offset matches; the rows past the offset are the
    // answer. Past the last page the last match is kept, marked outside the page, so the
    // total still arrives in a row.
    const string Articles = $"""
        SELECT total.n AS articlescount, numbered.position <= @offset AS outsidepage,
               {ArticleSql.Columns}, NULL AS body, {ArticleSql.Favorites}
        FROM total
        CROSS JOIN (SELECT id, row_number() OVER (ORDER BY id DESC) AS position FROM page) AS numbered
        JOIN articles a ON a.id = numbered.id
        JOIN users u ON u.id = a.author_id
        WHERE numbered.position > @offset OR numbered.position = total.n
        ORDER BY a.id DESC
        """;

    /// <summary>The list statement; parameters tag, author, favorited, limit, offset, me.</summary>
    internal const string ListSql = $"""
        WITH {ListTotalAndPage}
        {Articles}
        """;

    /// <summary>The feed statement; parameters limit, offset, me.</summary>
    internal const string FeedSql = $"""
        WITH {FeedTotalAndPage}
        {Articles}
        """;

    public static async Task<Results<Ok<ArticlesResponse>, ApiError>> List(
        string? tag, string? author, string? favorited, string? limit, string? offset, ClaimsPrincipal principal, NpgsqlDataSource db)
    {
        var check = new Validation();
        var page = Paging.From(check, limit, offset);
        check.Optional("tag", tag, 1000);
        check.Optional("author", author, 1000);
        check.Optional("favorited", favorited, 1000);
        if (check.Failed) return check.Error;

        await using var connection = db.CreateConnection();
        var rows = await connection.QueryAsync<ArticleRow>(ListSql,
            new
            {
                tag = Validation.NullIfBlank(tag), author = Validation.NullIfBlank(author), favorited = Validation.NullIfBlank(favorited),
                page.Limit, page.Offset, me = principal.OptionalId(),
            });
        return TypedResults.Ok(ToResponse(rows));
    }

    public static async Task<Results<Ok<ArticlesResponse>, ApiError>> Feed(string? limit, string? offset, ClaimsPrincipal principal, NpgsqlDataSource db)
    {
        var check = new Validation();
        var page = Paging.From(check, limit, offset);
        if (check.Failed) return check.Error;

        await using var connection = db.CreateConnection();
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
