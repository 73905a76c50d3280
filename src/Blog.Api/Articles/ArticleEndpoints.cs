using System.Security.Claims;
using Blog.Api.Auth;
using Blog.Api.Caching;
using Blog.Api.Data;
using Blog.Api.Docs;
using Blog.Api.Http;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Blog.Api.Articles;

internal static class ArticleEndpoints
{
    public static void MapArticles(this IEndpointRouteBuilder app)
    {
        var articles = app.MapGroup("/api/articles").WithTags("Articles");

        articles.MapGet("", ArticleLists.List).WithName("ListArticles").AllowsUser().CachedForAnonymous("tag", "author", "favorited", "limit", "offset").DocumentsPaging()
            .WithSummary("Articles, newest first, filtered by tag, author or favoriting user").ProducesErrors(401, 422);
        articles.MapGet("/feed", ArticleLists.Feed).WithName("Feed").DocumentsPaging()
            .WithSummary("Articles by the users the caller follows, newest first").RequireUser().ProducesErrors(422);
        articles.MapGet("/{slug}", Get).WithName("GetArticle").AllowsUser().CachedForAnonymous()
            .WithSummary("One article, with its body").ProducesErrors(401, 404);
        articles.MapPost("", Create).WithName("CreateArticle")
            .WithSummary("Publish an article").RequireUser().ProducesErrors(422);
        articles.MapPut("/{slug}", Update).WithName("UpdateArticle")
            .WithSummary("Change an article (its author only)").RequireUser().ProducesErrors(403, 404, 422);
        articles.MapDelete("/{slug}", Delete).WithName("DeleteArticle")
            .WithSummary("Delete an article (its author only)").RequireUser().ProducesErrors(403, 404);
        articles.MapPost("/{slug}/favorite", Favorites.Favorite).WithName("FavoriteArticle")
            .WithSummary("Favorite an article (idempotent)").RequireUser().ProducesErrors(404);
        articles.MapDelete("/{slug}/favorite", Favorites.Unfavorite).WithName("UnfavoriteArticle")
            .WithSummary("Unfavorite an article (idempotent)").RequireUser().ProducesErrors(404);
    }

    static async Task<Results<Ok<ArticleResponse>, ApiError>> Get(string slug, ClaimsPrincipal principal, Db db, HttpContext http, Viewers viewers, EdgeCache cache)
    {
        if (!Validation.IsStorable(slug)) return ApiError.NotFound("article");
        // A signed-in reader: the shared row from the edge cache, with their flags (Caching/Viewers).
        var (viewer, revoked) = viewers.Find(principal);
        if (revoked) return ApiError.TokenInvalid;
        var key = "article\n" + slug;
        if (viewer is not null && cache.Answer<ArticleRow>(key) is { } shared) return TypedResults.Ok(new ArticleResponse(shared.For(viewer).ToArticle()));

        var since = cache.Sequence;
        await using var connection = db.Read();
        var article = await connection.QuerySingleOrDefaultAsync<ArticleRow>($"""
            SELECT {ArticleSql.Columns}, a.body, {ArticleSql.Favorites}
            FROM articles a JOIN users u ON u.id = a.author_id
            WHERE a.slug = @slug AND {CurrentUser.Reading}
            """, new { slug, me = principal.OptionalId(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        if (article is null) return ApiError.NotFound("article");
        article.ShownIn(http);
        if (viewer is not null)
        {
            var tags = new List<string?>();
            article.ShownIn(tags);
            cache.StoreAnswer(key, article.Shared(), article.Bytes, tags, since);
        }
        return TypedResults.Ok(new ArticleResponse(article.ToArticle()));
    }

    static async Task<Results<Created<ArticleResponse>, ApiError>> Create(NewArticleRequest? request, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        var input = request?.Article;
        var check = new Validation();
        check.Required("title", input?.Title, Limits.Title);
        check.Required("description", input?.Description, Limits.Description);
        check.Required("body", input?.Body, Limits.Body);
        var tags = check.Tags("tagList", input?.TagList);
        if (check.Failed) return check.Error;

        await using var connection = db.Write();
        var article = await connection.QuerySingleAsync<ArticleRow>($"""
            WITH a AS (
                {ArticleSql.Insert}
                RETURNING *, publish_article_created(id, author_id, {ArticleSql.Tags}) AS changes
            ), tag AS (
                {ArticleSql.UpsertTags}
            ), tagged AS (
                INSERT INTO article_tags (article_id, tag_id, position)
                SELECT a.id, tag.id, list.position
                FROM a, unnest({ArticleSql.Tags}) WITH ORDINALITY AS list (name, position)
                JOIN tag ON tag.name = list.name
            )
            SELECT a.slug, a.title, a.description, a.body, {ArticleSql.GivenTagList} AS taglist,
                   a.created_at AS createdat, a.updated_at AS updatedat, false AS favorited, 0::bigint AS favoritescount,
                   u.username AS authorusername, u.bio AS authorbio, u.image AS authorimage, false AS authorfollowing, a.changes
            FROM a JOIN users u ON u.id = a.author_id
            """,
            new { slug = Slugs.BaseFor(input!.Title!), title = input.Title, description = input.Description, body = input.Body, tags = ArticleSql.TagsParameter(tags), me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        cache.Evict(article.Changes);
        return TypedResults.Created($"/api/articles/{article.Slug}", new ArticleResponse(article.ToArticle()));
    }

    static async Task<Results<Ok<ArticleResponse>, ApiError>> Update(string slug, UpdateArticleRequest? request, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        var changes = request?.Article;
        var check = new Validation();
        if (changes?.Title.IsSet == true) check.Required("title", changes.Title.Value, Limits.Title);
        if (changes?.Description.IsSet == true) check.Required("description", changes.Description.Value, Limits.Description);
        if (changes?.Body.IsSet == true) check.Required("body", changes.Body.Value, Limits.Body);
        var tags = changes?.TagList is null ? null : check.Tags("tagList", changes.TagList);
        if (changes?.ChangesNothing() != false) check.Add("article", "can't be blank");
        if (check.Failed) return check.Error;
        if (!Validation.IsStorable(slug)) return ApiError.NotFound("article");

        // Only the author's row is updated; someone else's article comes back unchanged and
        // marked forbidden (403), a missing one not at all (404), all in one round trip.
        // Tags are replaced without deleting a row this statement inserts again: the parts of
        // one statement cannot see each other's changes.
        await using var connection = db.Write();
        var article = await connection.QuerySingleOrDefaultAsync<ArticleRow>($"""
            WITH target AS (
                SELECT id, author_id, tag_list FROM articles WHERE slug = @slug
            ), a AS (
                {ArticleSql.Update}
                RETURNING a.*, {ArticleSql.PublishUpdated(ArticleSql.Tags)}
            ), tag AS (
                {ArticleSql.UpsertTags}
            ), untagged AS (
                DELETE FROM article_tags at USING a
                WHERE @tags::text IS NOT NULL AND at.article_id = a.id AND at.tag_id NOT IN (SELECT id FROM tag)
            ), tagged AS (
                INSERT INTO article_tags (article_id, tag_id, position)
                SELECT a.id, tag.id, list.position
                FROM a, unnest({ArticleSql.Tags}) WITH ORDINALITY AS list (name, position)
                JOIN tag ON tag.name = list.name
                ON CONFLICT (article_id, tag_id) DO UPDATE SET position = EXCLUDED.position
            )
            SELECT {ArticleSql.Columns}, a.body, {ArticleSql.Favorites}, false AS forbidden,
                   CASE WHEN @tags::text IS NULL THEN NULL ELSE {ArticleSql.GivenTagList} END AS newtaglist, a.changes
            FROM a JOIN users u ON u.id = a.author_id
            UNION ALL
            SELECT {ArticleSql.Columns}, a.body, {ArticleSql.Favorites}, true, NULL, NULL
            FROM target JOIN articles a ON a.id = target.id JOIN users u ON u.id = a.author_id
            WHERE target.author_id <> @me
            """,
            new
            {
                slug,
                me = principal.Id(),
                tokenVersion = principal.TokenVersion(),
                sessionId = principal.Session(),
                title = changes?.Title.Value,
                newSlug = changes?.Title.Value is { } title ? Slugs.BaseFor(title) : null,
                description = changes?.Description.Value,
                body = changes?.Body.Value,
                tags = ArticleSql.TagsParameter(tags),
            });
        if (article is null) return ApiError.NotFound("article");
        if (article.Forbidden) return ApiError.Forbidden("article");
        cache.Evict(article.Changes);
        return TypedResults.Ok(new ArticleResponse(article.ToArticle() with { TagList = article.NewTagList ?? article.TagList }));
    }

    static async Task<Results<NoContent, ApiError>> Delete(string slug, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        if (!Validation.IsStorable(slug)) return ApiError.NotFound("article");
        await using var connection = db.Write();
        var outcome = await connection.QuerySingleOrDefaultAsync<WriteOutcome>($"""
            WITH target AS (
                SELECT id, author_id FROM articles WHERE slug = @slug
            ), deleted AS (
                DELETE FROM articles a USING target WHERE a.id = target.id AND target.author_id = @me AND {CurrentUser.SignedIn}
                RETURNING publish_article_deleted(a.id, a.author_id, a.tag_list) AS changes
            )
            SELECT author_id = @me AS mine, (SELECT changes FROM deleted) AS changes FROM target
            """, new { slug, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        cache.Evict(outcome?.Changes);
        return outcome?.Mine switch
        {
            null => ApiError.NotFound("article"),
            false => ApiError.Forbidden("article"),
            true => TypedResults.NoContent(),
        };
    }
}
