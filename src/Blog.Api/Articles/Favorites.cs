using System.Security.Claims;
using Blog.Api.Auth;
using Blog.Api.Caching;
using Blog.Api.Data;
using Blog.Api.Http;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Blog.Api.Articles;

/// <summary>
/// Favorite and unfavorite. The answer's count is the count the statement started from plus
/// (or minus) the row it added (or removed): its own change, and the count its trigger keeps
/// (migration 0009), are invisible to its SELECT.
/// </summary>
internal static class Favorites
{
    public static async Task<Results<Ok<ArticleResponse>, ApiError>> Favorite(string slug, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        if (!Validation.IsStorable(slug)) return ApiError.NotFound("article");
        await using var connection = db.Write();
        var article = await connection.QuerySingleOrDefaultAsync<ArticleRow>($"""
            WITH a AS (
                SELECT * FROM articles WHERE slug = @slug
            ), added AS (
                INSERT INTO favorites (user_id, article_id) SELECT @me, id FROM a WHERE {CurrentUser.SignedIn}
                ON CONFLICT DO NOTHING
                RETURNING publish_favorite(article_id, user_id) AS changes
            )
            SELECT {ArticleSql.Columns}, a.body, true AS favorited,
                   {ArticleSql.FavoritesCount} + (SELECT count(*) FROM added) AS favoritescount,
                   (SELECT changes FROM added) AS changes
            FROM a JOIN users u ON u.id = a.author_id
            """, new { slug, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        if (article is null) return ApiError.NotFound("article");
        await cache.OwnWriteAsync(article.Changes, new EdgeCache.OwnChange(principal.Id(), viewer => viewer.WithFavorite(article.Id, true)));
        return TypedResults.Ok(new ArticleResponse(article.ToArticle()));
    }

    public static async Task<Results<Ok<ArticleResponse>, ApiError>> Unfavorite(string slug, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        if (!Validation.IsStorable(slug)) return ApiError.NotFound("article");
        await using var connection = db.Write();
        var article = await connection.QuerySingleOrDefaultAsync<ArticleRow>($"""
            WITH a AS (
                SELECT * FROM articles WHERE slug = @slug
            ), removed AS (
                DELETE FROM favorites f USING a WHERE f.article_id = a.id AND f.user_id = @me AND {CurrentUser.SignedIn}
                RETURNING publish_favorite(f.article_id, f.user_id) AS changes
            )
            SELECT {ArticleSql.Columns}, a.body, false AS favorited,
                   {ArticleSql.FavoritesCount} - (SELECT count(*) FROM removed) AS favoritescount,
                   (SELECT changes FROM removed) AS changes
            FROM a JOIN users u ON u.id = a.author_id
            """, new { slug, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        if (article is null) return ApiError.NotFound("article");
        await cache.OwnWriteAsync(article.Changes, new EdgeCache.OwnChange(principal.Id(), viewer => viewer.WithFavorite(article.Id, false)));
        return TypedResults.Ok(new ArticleResponse(article.ToArticle()));
    }
}
