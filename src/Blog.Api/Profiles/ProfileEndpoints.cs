using System.Security.Claims;
using Blog.Api.Auth;
using Blog.Api.Caching;
using Blog.Api.Data;
using Blog.Api.Http;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Blog.Api.Profiles;

internal static class ProfileEndpoints
{
    public static void MapProfiles(this IEndpointRouteBuilder app)
    {
        var profiles = app.MapGroup("/api/profiles/{username}").WithTags("Profiles");

        profiles.MapGet("", Get).WithName("GetProfile").AllowsUser().CachedForAnonymous()
            .WithSummary("A user's public profile; following is relative to the caller").ProducesErrors(401, 404);
        profiles.MapPost("/follow", Follow).WithName("FollowUser")
            .WithSummary("Follow a user (idempotent)").RequireUser().ProducesErrors(404, 422);
        profiles.MapDelete("/follow", Unfollow).WithName("UnfollowUser")
            .WithSummary("Unfollow a user (idempotent)").RequireUser().ProducesErrors(404, 422);
    }

    static async Task<Results<Ok<ProfileResponse>, ApiError>> Get(string username, ClaimsPrincipal principal, Db db, HttpContext http)
    {
        if (!Validation.IsStorable(username)) return ApiError.NotFound("profile");
        await using var connection = db.Read();
        var profile = await connection.QuerySingleOrDefaultAsync<ProfileRow>("""
            SELECT u.id, u.username, u.bio, u.image,
                   EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = @me AND f.followee_id = u.id) AS following
            FROM users u
            WHERE lower(u.username) = lower(normalize(@username, NFKC))
            """, new { username, me = principal.OptionalId() });
        if (profile is null) return ApiError.NotFound("profile");
        EdgeCache.Shows(http, CacheTags.Author(profile.Id));
        return TypedResults.Ok(new ProfileResponse(new Profile(profile.Username, profile.Bio, profile.Image, profile.Following)));
    }

    static async Task<Results<Ok<ProfileResponse>, ApiError>> Follow(string username, ClaimsPrincipal principal, Db db)
    {
        if (!Validation.IsStorable(username)) return ApiError.NotFound("profile");
        await using var connection = db.Write();
        var target = await connection.QuerySingleOrDefaultAsync<FollowRow>($"""
            WITH target AS (
                SELECT id, username, bio, image FROM users WHERE lower(username) = lower(normalize(@username, NFKC))
            ), followed AS (
                INSERT INTO follows (follower_id, followee_id)
                SELECT @me, id FROM target WHERE id <> @me AND {CurrentUser.SignedIn}
                ON CONFLICT DO NOTHING
            )
            SELECT username, bio, image, id = @me AS self FROM target
            """, new { username, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        return Answer(target, following: true);
    }

    static async Task<Results<Ok<ProfileResponse>, ApiError>> Unfollow(string username, ClaimsPrincipal principal, Db db)
    {
        if (!Validation.IsStorable(username)) return ApiError.NotFound("profile");
        await using var connection = db.Write();
        var target = await connection.QuerySingleOrDefaultAsync<FollowRow>($"""
            WITH target AS (
                SELECT id, username, bio, image FROM users WHERE lower(username) = lower(normalize(@username, NFKC))
            ), unfollowed AS (
                DELETE FROM follows WHERE follower_id = @me AND followee_id = (SELECT id FROM target) AND {CurrentUser.SignedIn}
            )
            SELECT username, bio, image, id = @me AS self FROM target
            """, new { username, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        return Answer(target, following: false);
    }

    static Results<Ok<ProfileResponse>, ApiError> Answer(FollowRow? target, bool following) => target switch
    {
        null => ApiError.NotFound("profile"),
        { Self: true } => ApiError.Of(422, "profile", "cannot follow yourself"),
        _ => TypedResults.Ok(new ProfileResponse(new Profile(target.Username, target.Bio, target.Image, following))),
    };
}
