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

    static async Task<Results<Ok<ProfileResponse>, ApiError>> Get(string username, ClaimsPrincipal principal, Db db, HttpContext http, Viewers viewers, EdgeCache cache)
    {
        if (!Validation.IsStorable(username)) return ApiError.NotFound("profile");
        // A signed-in reader: the shared row from the edge cache, with their flag (Caching/Viewers).
        var (viewer, revoked) = viewers.Find(principal);
        if (revoked) return ApiError.TokenInvalid;
        var key = "profile\n" + username;
        if (viewer is not null && cache.Answer<ProfileRow>(key) is { } shared) return TypedResults.Ok(new ProfileResponse(shared.ToProfile(viewer.Follows(shared.Id))));

        var since = cache.Sequence;
        await using var connection = db.Read();
        var profile = await connection.QuerySingleOrDefaultAsync<ProfileRow>($"""
            SELECT u.id, u.username, u.bio, u.image,
                   EXISTS (SELECT 1 FROM follows f WHERE f.follower_id = @me AND f.followee_id = u.id) AS following
            FROM users u
            WHERE lower(u.username) = lower(normalize(@username, NFKC)) AND {CurrentUser.Reading}
            """, new { username, me = principal.OptionalId(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        if (profile is null) return ApiError.NotFound("profile");
        EdgeCache.Shows(http, CacheTags.Author(profile.Id));
        if (viewer is not null) cache.StoreAnswer(key, profile with { Following = false }, profile.Bytes, [CacheTags.Author(profile.Id)], since);
        return TypedResults.Ok(new ProfileResponse(profile.ToProfile(profile.Following)));
    }

    static async Task<Results<Ok<ProfileResponse>, ApiError>> Follow(string username, ClaimsPrincipal principal, Db db, EdgeCache cache)
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
                RETURNING publish(ARRAY['v' || follower_id]) AS changes
            )
            SELECT id, username, bio, image, id = @me AS self, (SELECT changes FROM followed) AS changes FROM target
            """, new { username, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        // The follower's own viewer entry here shows the follow before the answer leaves (the
        // statement's publish is the one the trigger of migration 0013 sends; it is sent once).
        if (target is not null) await cache.OwnWriteAsync(target.Changes, new EdgeCache.OwnChange(principal.Id(), viewer => viewer.WithFollow(target.Id, true)));
        return Answer(target, following: true);
    }

    static async Task<Results<Ok<ProfileResponse>, ApiError>> Unfollow(string username, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        if (!Validation.IsStorable(username)) return ApiError.NotFound("profile");
        await using var connection = db.Write();
        var target = await connection.QuerySingleOrDefaultAsync<FollowRow>($"""
            WITH target AS (
                SELECT id, username, bio, image FROM users WHERE lower(username) = lower(normalize(@username, NFKC))
            ), unfollowed AS (
                DELETE FROM follows WHERE follower_id = @me AND followee_id = (SELECT id FROM target) AND {CurrentUser.SignedIn}
                RETURNING publish(ARRAY['v' || follower_id]) AS changes
            )
            SELECT id, username, bio, image, id = @me AS self, (SELECT changes FROM unfollowed) AS changes FROM target
            """, new { username, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        if (target is not null) await cache.OwnWriteAsync(target.Changes, new EdgeCache.OwnChange(principal.Id(), viewer => viewer.WithFollow(target.Id, false)));
        return Answer(target, following: false);
    }

    static Results<Ok<ProfileResponse>, ApiError> Answer(FollowRow? target, bool following) => target switch
    {
        null => ApiError.NotFound("profile"),
        { Self: true } => ApiError.Of(422, "profile", "cannot follow yourself"),
        _ => TypedResults.Ok(new ProfileResponse(new Profile(target.Username, target.Bio, target.Image, following))),
    };
}
