using Blog.Api.Auth;

namespace Blog.Api.Articles;

internal static class ArticleSql
{
    /// <summary>
    /// Tags travel as one text parameter, one tag per line (validation keeps control
    /// characters out of tags): Dapper.AOT hands array parameters to Dapper's reflection-based
    /// list expansion, which the AOT binary cannot run. Null means "no tags given".
    /// </summary>
    public const string Tags = "string_to_array(@tags, E'\\n')";

    public static string? TagsParameter(string[]? tags) => tags is null ? null : string.Join('\n', tags);

    /// <summary>
    /// The tags in <c>@tags</c> as answered, and as articles.tag_list keeps them (migration
    /// 0005): alphabetical, in code point order, as front ends and the RealWorld suites expect
    /// (the author's order is kept in article_tags.position). A statement that writes tags
    /// answers with this: its final SELECT cannot see what its own triggers wrote.
    /// </summary>
    public const string GivenTagList = $"""ARRAY(SELECT name FROM unnest({Tags}) AS name ORDER BY name COLLATE "C")""";

    /// <summary>
    /// The columns of an article <c>a</c> by author <c>u</c> as seen by user <c>@me</c> (null for
    /// anonymous callers); body, favorited and favoritesCount, which statements vary, are left
    /// to them.
    /// </summary>
    public const string Columns = """
        a.id, u.id AS authorid, a.slug, a.title, a.description, a.tag_list AS taglist,
        a.created_at AS createdat, a.updated_at AS updatedat,
        u.username AS authorusername, u.bio AS authorbio, u.image AS authorimage,
        EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = @me AND fo.followee_id = u.id) AS authorfollowing
        """;

    /// <summary>
    /// The number of favorites of article <c>a</c>: its column, kept by triggers (migration 0009),
    /// or counted while a deploy's backfill has not filled it yet (the column is null until then).
    /// </summary>
    public const string FavoritesCount = "coalesce(a.favorites_count, (SELECT count(*) FROM favorites fc WHERE fc.article_id = a.id))";

    /// <summary>Whether <c>@me</c> favorited article <c>a</c>, and its count.</summary>
    public const string Favorites = $"""
        EXISTS (SELECT 1 FROM favorites f WHERE f.user_id = @me AND f.article_id = a.id) AS favorited,
        {FavoritesCount} AS favoritescount
        """;

    /// <summary>
    /// Inserts the article <c>@title</c>, <c>@description</c>, <c>@body</c> by <c>@me</c>, signed in
    /// with <c>@tokenVersion</c> and <c>@sessionId</c> (CurrentUser.SignedIn); callers add RETURNING. The slug is <c>@slug</c> (Slugs.BaseFor the title) plus the new id: unique by
    /// construction, so two articles with one title (even created at the same instant) never
    /// collide and nothing retries.
    /// </summary>
    public const string Insert = $"""
        INSERT INTO articles (id, slug, title, description, body, author_id)
        SELECT id, @slug || '-' || id, @title, @description, @body, @me
        FROM (SELECT nextval(pg_get_serial_sequence('articles', 'id')) AS id) AS next
        WHERE {CurrentUser.SignedIn}
        """;

    /// <summary>
    /// Updates the article in CTE <c>target</c> (its id and author_id) when <c>@me</c> wrote it, and
    /// is still signed in with <c>@tokenVersion</c> and <c>@sessionId</c> (CurrentUser.SignedIn):
    /// each of <c>@title</c>, <c>@description</c>, <c>@body</c> that is not null. A new title
    /// gives a new slug (<c>@newSlug</c> plus the id). Callers add RETURNING, with
    /// <see cref="PublishUpdated"/>; <c>target</c> has the tags before (tag_list).
    /// </summary>
    public const string Update = $"""
        UPDATE articles a SET
            title       = coalesce(@title, a.title),
            slug        = CASE WHEN @title IS NULL THEN a.slug ELSE @newSlug || '-' || a.id END,
            description = coalesce(@description, a.description),
            body        = coalesce(@body, a.body),
            updated_at  = now()
        FROM target
        WHERE a.id = target.id AND target.author_id = @me AND {CurrentUser.SignedIn}
        """;

    /// <summary>
    /// The changes of <see cref="Update"/> for the edge cache (migration 0007), given the
    /// new tags (<paramref name="newTags"/>, SQL; NULL when they stay): a RETURNING column.
    /// </summary>
    public static string PublishUpdated(string newTags) => $"publish_article_updated(a.id, target.tag_list, {newTags}) AS changes";

    /// <summary>
    /// Upserts the tags in <c>@tags</c> for the article written by CTE <c>a</c> (none when it
    /// wrote nothing) and returns their ids. DO UPDATE rather than DO NOTHING: it returns the
    /// row also when a concurrent request inserted the same new tag a moment ago, where DO
    /// NOTHING would return nothing and the tag would be silently lost. It locks the rows, in
    /// name order, so concurrent writers with overlapping tags queue instead of deadlocking.
    /// </summary>
    public const string UpsertTags = $"""
        INSERT INTO tags (name)
        SELECT name FROM unnest({Tags}) AS name WHERE EXISTS (SELECT 1 FROM a) ORDER BY name
        ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
        RETURNING id, name
        """;
}
