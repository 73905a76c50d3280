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
    /// A condition for the statements that write as the signed-in user: it raises BT401 (401)
    /// unless the user exists with the token's version, checked once before anything runs
    /// (migration 0006). Parameters @me and @tokenVersion.
    /// </summary>
    public const string SignedIn = "signed_in(@me, @tokenVersion)";

    /// <summary>
    /// A request that carries an Authorization header must carry a valid token, also where a
    /// user is optional: an expired or tampered token is 401, never a silent anonymous read.
    /// </summary>
    public static IApplicationBuilder RejectInvalidTokens(this IApplicationBuilder app) =>
        app.Use((context, next) =>
            context.Request.Headers.Authorization.Count > 0 && context.User.Identity?.IsAuthenticated != true
                ? ApiError.TokenInvalid.ExecuteAsync(context)
                : next(context));

    /// <summary>Requires a signed-in user and documents the 401 that follows without one.</summary>
    public static RouteHandlerBuilder RequireUser(this RouteHandlerBuilder builder) =>
        builder.RequireAuthorization().ProducesErrors(StatusCodes.Status401Unauthorized);
}
