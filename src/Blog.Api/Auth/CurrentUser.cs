using System.Security.Claims;
using Blog.Api.Http;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Blog.Api.Auth;

internal static class CurrentUser
{
    /// <summary>The signed-in user's id; only call on endpoints that require a user.</summary>
    public static long Id(this ClaimsPrincipal user) =>
        user.OptionalId() ?? throw new InvalidOperationException("The endpoint does not require a user.");

    /// <summary>The signed-in user's id, or null for an anonymous caller.</summary>
    public static long? OptionalId(this ClaimsPrincipal user) =>
        long.TryParse(user.FindFirst(JwtRegisteredClaimNames.Sub)?.Value, out var id) ? id : null;

    /// <summary>
    /// The version of the credentials the signed-in user's token was issued for (tokens from
    /// before versions existed were issued for the first).
    /// </summary>
    public static int TokenVersion(this ClaimsPrincipal user) =>
        int.TryParse(user.FindFirst(Tokens.VersionClaim)?.Value, out var version) ? version : 1;

    /// <summary>
    /// The session the token belongs to (Tokens.SessionClaim); null in tokens issued before
    /// sessions existed, which a credentials change then signs out like any other.
    /// </summary>
    public static string? Session(this ClaimsPrincipal user) => user.FindFirst(Tokens.SessionClaim)?.Value;

    /// <summary>
    /// A condition for the statements that write as the signed-in user: it raises BT401 (401)
    /// unless the user exists and the token is still valid, that is, issued for the current
    /// version of the credentials or in the session that changed them last; checked once,
    /// before anything runs (migrations 0006 and 0011). Parameters @me, @tokenVersion, @sessionId.
    /// </summary>
    public const string SignedIn = "signed_in(@me, @tokenVersion, @sessionId)";

    /// <summary>
    /// The same for the statements that read what a caller may see, where a user is optional:
    /// true without one; checked once, before anything runs, on a replica too (migration 0013).
    /// So a signed-out session's token reads nothing more, as on the edge cache (Caching/Viewers).
    /// Parameters @me, @tokenVersion, @sessionId.
    /// </summary>
    public const string Reading = "reading(@me, @tokenVersion, @sessionId)";

    /// <summary>The same condition on a row of users, for the statements that read it anyway.</summary>
    public const string TokenValid = "(token_version = @tokenVersion OR kept_session = @sessionId)";

    /// <summary>
    /// A request that carries an Authorization header must carry a valid token, also where a
    /// user is optional: an expired or tampered token is 401, never a silent anonymous read.
    /// </summary>
    public static IApplicationBuilder RejectInvalidTokens(this IApplicationBuilder app) =>
        app.Use((context, next) =>
            context.Request.Headers.Authorization.Count > 0 && context.User.Identity?.IsAuthenticated != true
                ? ApiError.TokenInvalid.ExecuteAsync(context)
                : next(context));

    /// <summary>
    /// Marks an endpoint that answers anyone and shows a signed-in caller more (favorited,
    /// following): its document says a token is optional. Endpoints with neither this nor
    /// RequireUser take no token (the document says none, so that clients send none).
    /// </summary>
    public static RouteHandlerBuilder AllowsUser(this RouteHandlerBuilder builder) => builder.WithMetadata(new OptionalUser());

    /// <summary>The metadata of <see cref="AllowsUser"/>.</summary>
    public sealed class OptionalUser;

    /// <summary>Requires a signed-in user and documents the 401 that follows without one.</summary>
    public static RouteHandlerBuilder RequireUser(this RouteHandlerBuilder builder) =>
        builder.RequireAuthorization().ProducesErrors(StatusCodes.Status401Unauthorized);
}
