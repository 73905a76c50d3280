using System.Security.Claims;
using Blog.Api.Auth;
using Blog.Api.Data;
using Blog.Api.Docs;
using Blog.Api.Caching;
using Blog.Api.Http;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Blog.Api.Comments;

internal static class CommentEndpoints
{
    public static void MapComments(this IEndpointRouteBuilder app)
    {
        var comments = app.MapGroup("/api/articles/{slug}/comments").WithTags("Comments");

        comments.MapGet("", List).WithName("ListComments").AllowsUser().CachedForAnonymous()
            .WithSummary("An article's comments, oldest first").ProducesErrors(401, 404);
        comments.MapPost("", Add).WithName("AddComment")
            .WithSummary("Comment on an article").RequireUser().ProducesErrors(404, 422);
        comments.MapDelete("/{id}", Delete).WithName("DeleteComment").Documents(ParameterDoc.Integer("id", 1, long.MaxValue))
            .WithSummary("Delete a comment (its author only)").RequireUser().ProducesErrors(403, 404);
    }

    /// <summary>The most comments an answer kept for signed-in readers holds; an article with more is read from the database.</summary>
    const int MaxKept = 1000;

    static async Task<Results<Ok<CommentsResponse>, ApiError>> List(string slug, ClaimsPrincipal principal, Db db, HttpContext http, Viewers viewers, EdgeCache cache)
    {
        if (!Validation.IsStorable(slug)) return ApiError.NotFound("article");
        // A signed-in reader: the shared rows from the edge cache, with their flags (Caching/Viewers).
        var (viewer, revoked) = viewers.Find(principal);
        if (revoked) return ApiError.TokenInvalid;
        var key = "comments\n" + slug;
        if (viewer is not null && cache.Answer<CommentRow[]>(key) is { } shared)
        {
            return TypedResults.Ok(new CommentsResponse(shared.Select(row => row.For(viewer).ToComment()).ToAsyncEnumerable()));
        }

        var since = cache.Sequence;
        var connection = db.Read();
        // Row 0 is the article itself (comment ids start at 1): no rows at all means no article,
        // and an article without comments is told apart in the same round trip. The comments
        // are written as they are read (Streaming): front ends read all of them, however many.
        var rows = await Streaming.StartAsync(http, connection, connection.QueryUnbufferedAsync<CommentRow>($"""
            SELECT 0::bigint AS id, a.created_at AS createdat, a.updated_at AS updatedat, '' AS body,
                   '' AS authorusername, NULL AS authorbio, NULL AS authorimage, false AS authorfollowing,
                   a.id AS articleid, 0::bigint AS authorid
            FROM articles a WHERE a.slug = @slug AND {CurrentUser.Reading}
            UNION ALL
            SELECT c.id, c.created_at, c.updated_at, c.body, u.username, u.bio, u.image,
                   EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = @me AND fo.followee_id = u.id),
                   a.id, u.id
            FROM articles a
            JOIN comments c ON c.article_id = a.id
            JOIN users u ON u.id = c.author_id
            WHERE a.slug = @slug
            ORDER BY id
            """, new { slug, me = principal.OptionalId(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() }));
        if (rows is null) return ApiError.NotFound("article");
        // For the edge cache, as they stream: the article's comments, and each comment's author.
        rows = rows.Select(row =>
        {
            EdgeCache.Shows(http, row.Id == 0 ? CacheTags.Comments(row.ArticleId) : CacheTags.Author(row.AuthorId));
            return row;
        });
        if (viewer is not null) rows = Kept(rows, all => cache.StoreAnswer(key, all.Where(row => row.Id != 0).Select(row => row.Shared()).ToArray(),
            all.Sum(row => row.Bytes), [.. all.Select(row => row.Id == 0 ? CacheTags.Comments(row.ArticleId) : CacheTags.Author(row.AuthorId))], since));
        return TypedResults.Ok(new CommentsResponse(rows.Where(row => row.Id != 0).Select(row => row.ToComment())));
    }

    /// <summary>The rows as they stream, and once all have gone, all of them to <paramref name="keep"/> (unless there were too many).</summary>
    static async IAsyncEnumerable<CommentRow> Kept(IAsyncEnumerable<CommentRow> rows, Action<List<CommentRow>> keep)
    {
        var all = new List<CommentRow>();
        await foreach (var row in rows)
        {
            if (all.Count <= MaxKept) all.Add(row);
            yield return row;
        }
        if (all.Count <= MaxKept) keep(all);
    }

    static async Task<Results<Created<CommentResponse>, ApiError>> Add(string slug, NewCommentRequest? request, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        var check = new Validation();
        check.Required("body", request?.Comment?.Body, Limits.Comment);
        if (check.Failed) return check.Error;
        if (!Validation.IsStorable(slug)) return ApiError.NotFound("article");

        await using var connection = db.Write();
        var comment = await connection.QuerySingleOrDefaultAsync<CommentRow>($"""
            WITH c AS (
                INSERT INTO comments (article_id, author_id, body)
                SELECT id, @me, @body FROM articles WHERE slug = @slug AND {CurrentUser.SignedIn}
                RETURNING *, publish_comments(article_id) AS changes
            )
            SELECT c.id, c.created_at AS createdat, c.updated_at AS updatedat, c.body,
                   u.username AS authorusername, u.bio AS authorbio, u.image AS authorimage, false AS authorfollowing, c.changes
            FROM c JOIN users u ON u.id = c.author_id
            """, new { slug, body = request!.Comment!.Body, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        if (comment is null) return ApiError.NotFound("article");
        cache.Evict(comment.Changes);
        return TypedResults.Created($"/api/articles/{slug}/comments/{comment.Id}", new CommentResponse(comment.ToComment()));
    }

    static async Task<Results<NoContent, ApiError>> Delete(string slug, string id, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        if (!Validation.IsStorable(slug)) return ApiError.NotFound("article");
        // An id that is not a number names no comment.
        if (!long.TryParse(id, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var commentId)) return ApiError.NotFound("comment");

        await using var connection = db.Write();
        var outcome = await connection.QuerySingleAsync<DeleteOutcome>($"""
            WITH target AS (
                SELECT c.id, c.author_id FROM comments c JOIN articles a ON a.id = c.article_id
                WHERE a.slug = @slug AND c.id = @commentId
            ), deleted AS (
                DELETE FROM comments c USING target WHERE c.id = target.id AND target.author_id = @me AND {CurrentUser.SignedIn}
                RETURNING publish_comments(c.article_id) AS changes
            )
            SELECT EXISTS (SELECT 1 FROM articles WHERE slug = @slug) AS articleexists,
                   (SELECT author_id = @me FROM target) AS mine, (SELECT changes FROM deleted) AS changes
            """, new { slug, commentId, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        cache.Evict(outcome.Changes);
        return outcome switch
        {
            { ArticleExists: false } => ApiError.NotFound("article"),
            { Mine: null } => ApiError.NotFound("comment"),
            { Mine: false } => ApiError.Forbidden("comment"),
            _ => TypedResults.NoContent(),
        };
    }

}
