using System.Security.Claims;
using Blog.Api.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Blog.Api.Articles;

/// <summary>The article list and the feed: one statement each, page and total together.</summary>
static class ArticleLists
{
    // Each filter is "parameter IS NULL OR condition". Statements are not prepared (PgBouncer),
    // so Postgres plans every execution with the actual values and drops the unused filters:
    // each combination gets its own index plan (see scripts/explain-lists.sh).
    const string ListFilter = """
        SELECT a.id FROM articles a
        WHERE (@author::text IS NULL OR a.author_id = (SELECT id FROM users WHERE lower(username) = lower(@author)))
          AND (@tag::text IS NULL OR a.id IN (
                SELECT at.article_id FROM article_tags at WHERE at.tag_id = (SELECT id FROM tags WHERE name = @tag)))
          AND (@favorited::text IS NULL OR a.id IN (
                SELECT f.article_id FROM favorites f WHERE f.user_id = (SELECT id FROM users WHERE lower(username) = lower(@favorited))))
        """;

    const string FeedFilter = """
        SELECT a.id FROM articles a
        WHERE a.author_id IN (SELECT followee_id FROM follows WHERE follower_id = @me)
        """;

    // NOT MATERIALIZED: the count and the page each get the plan that suits them (an
    // index-only count, an id-ordered scan that stops after the page) instead of sharing a
    // materialized list of every match. Past the last page the offset is pulled back to the
    // last match, so that one row still brings the total; it is marked outside the page.
    const string Page = $"""
        SELECT total.n AS articlescount, @offset >= total.n AS outsidepage,
               {ArticleSql.Columns}, NULL AS body, {ArticleSql.Favorites}
        FROM (SELECT count(*) AS n FROM matching) AS total,
        LATERAL (SELECT id FROM matching ORDER BY id DESC
                 LIMIT @limit OFFSET least(@offset, greatest(total.n - 1, 0))) AS page
        JOIN articles a ON a.id = page.id
        JOIN users u ON u.id = a.author_id
        ORDER BY a.id DESC
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
        var rows = await connection.QueryAsync<ArticleRow>($"""
            WITH matching AS NOT MATERIALIZED ({ListFilter})
            {Page}
            """,
            new
            {
                tag = NullIfEmpty(tag), author = NullIfEmpty(author), favorited = NullIfEmpty(favorited),
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
        var rows = await connection.QueryAsync<ArticleRow>($"""
            WITH matching AS NOT MATERIALIZED ({FeedFilter})
            {Page}
            """, new { page.Limit, page.Offset, me = principal.Id() });
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

    static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary><c>limit</c> (1–100, default 20) and <c>offset</c> (0 or more, default 0) from the query string.</summary>
readonly record struct Paging(int Limit, int Offset)
{
    public static Paging From(Validation check, string? limit, string? offset) => new(
        Parse(check, "limit", limit, Limits.DefaultPageSize, min: 1, max: Limits.PageSize),
        Parse(check, "offset", offset, 0, min: 0, max: int.MaxValue));

    static int Parse(Validation check, string field, string? text, int fallback, int min, int max)
    {
        if (string.IsNullOrEmpty(text)) return fallback;
        if (!long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            check.Add(field, "is not a number");
            return fallback;
        }
        if (value < min) check.Add(field, $"must be greater than or equal to {min}");
        else if (value > max) check.Add(field, $"must be less than or equal to {max}");
        else return (int)value;
        return fallback;
    }
}
