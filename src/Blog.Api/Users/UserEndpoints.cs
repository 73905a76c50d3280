using System.Security.Claims;
using Blog.Api.Auth;
using Blog.Api.Caching;
using Blog.Api.Data;
using Blog.Api.Http;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Blog.Api.Users;

internal static class UserEndpoints
{
    public static void MapUsers(this IEndpointRouteBuilder app)
    {
        var users = app.MapGroup("/api").WithTags("Users");

        users.MapPost("/users", Register).WithName("Register")
            .WithSummary("Register a new user").LimitedPerClient().ProducesErrors(409, 422);
        users.MapPost("/users/login", Login).WithName("Login")
            .WithSummary("Log in with email and password").LimitedPerClient().ProducesErrors(401, 422);
        users.MapGet("/user", Current).WithName("GetCurrentUser")
            .WithSummary("The signed-in user").RequireUser();
        users.MapPut("/user", Update).WithName("UpdateCurrentUser")
            .WithSummary("Update the signed-in user; the answer carries a fresh token").RequireUser().ProducesErrors(409, 422);
    }

    static async Task<Results<Created<UserResponse>, ApiError>> Register(
        RegisterRequest? request, Db db, Tokens tokens, SignInLimits limits, HttpContext http)
    {
        var (username, email, password) = (request?.User?.Username?.Trim(), request?.User?.Email?.Trim(), request?.User?.Password);
        var check = new Validation();
        check.Username("username", username);
        check.Email("email", email);
        check.Password("password", password);
        if (check.Failed) return check.Error;

        // Counted for the client's network (SignInLimits), stored in Unicode's NFKC form. A
        // taken username or email is the unique indexes' call, so two registrations racing
        // for one name cannot both win.
        await using var connection = db.Write();
        var row = await connection.QuerySingleAsync<RegisterRow>($"""
            WITH {SignInLimits.Network}, created AS (
                INSERT INTO users (username, email, password_hash)
                SELECT normalize(@username, NFKC), @email, @hash WHERE (SELECT allowed FROM network) AND written()
                ON CONFLICT DO NOTHING
                RETURNING id, username, email, bio, image, token_version
            )
            {Registration.Answer}
            """, new { network = limits.NetworkKey(http), perMinute = limits.PerMinute, username, email, hash = Passwords.Hash(password!) });
        if (row.RetryAfter is { } seconds) return SignInLimits.TooMany(seconds);
        if (row.Id is not { } id) return ApiError.Taken(row.EmailTaken ? "email" : "username");
        return TypedResults.Created($"/api/profiles/{Uri.EscapeDataString(row.Username!)}",
            new UserResponse(new User(row.Email!, tokens.Issue(id, row.TokenVersion!.Value, Tokens.NewSession()), row.Username!, row.Bio, row.Image)));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Login(LoginRequest? request, Db db, Tokens tokens, SignInLimits limits, HttpContext http)
    {
        var (user, error) = await SignIn.AttemptAsync(db, limits, http, request?.User?.Email, request?.User?.Password);
        return error ?? (Results<Ok<UserResponse>, ApiError>)TypedResults.Ok(new UserResponse(user!.ToUser(tokens.Issue(user.Id!.Value, user.TokenVersion!.Value, Tokens.NewSession()))));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Current(ClaimsPrincipal principal, HttpRequest http, Db db)
    {
        await using var connection = db.Read();
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(
            $"SELECT id, username, email, bio, image, token_version AS tokenversion FROM users WHERE id = @id AND {CurrentUser.TokenValid}",
            new { id = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        // A valid token of a user who no longer exists, or of credentials since changed, is as good as a forged one.
        if (user is null) return ApiError.TokenInvalid;
        return TypedResults.Ok(new UserResponse(user.ToUser(Tokens.FromHeader(http.Headers.Authorization)!)));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Update(
        UpdateUserRequest? request, ClaimsPrincipal principal, Db db, Tokens tokens, EdgeCache cache)
    {
        var changes = request?.User;
        var check = new Validation();
        var email = changes?.Email.Value?.Trim();
        var username = changes?.Username.Value?.Trim();
        if (changes?.Email.IsSet == true) check.Email("email", email);
        if (changes?.Username.IsSet == true) check.Username("username", username);
        if (changes?.Password.IsSet == true) check.Password("password", changes.Password.Value);
        if (changes?.Bio.IsSet == true) check.Optional("bio", changes.Bio.Value, Limits.Bio);
        if (changes?.Image.IsSet == true) check.ImageUrl("image", changes.Image.Value);
        // The contract asks for at least one field; an empty update is a client mistake.
        if (changes?.ChangesNothing() != false) check.Add("user", "can't be blank");
        if (check.Failed) return check.Error;

        // A new password or email is a new version of the credentials: the tokens issued for
        // the old one stop working, but for this session's (kept_session, migration 0011), and
        // the answer carries one for the new version in the same session. A token from before
        // sessions existed starts one here, so that at least the answer's token is kept.
        var sessionId = principal.Session() ?? Tokens.NewSession();
        await using var connection = db.Write();
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>($"""
            UPDATE users SET
                email         = coalesce(@email, email),
                username      = coalesce(normalize(@username, NFKC), username),
                password_hash = coalesce(@hash, password_hash),
                bio           = CASE WHEN @setBio THEN @bio ELSE bio END,
                image         = CASE WHEN @setImage THEN @image ELSE image END,
                token_version = token_version + CASE WHEN {NewCredentials} THEN 1 ELSE 0 END,
                kept_session  = CASE WHEN {NewCredentials} THEN @sessionId ELSE kept_session END,
                updated_at    = now()
            WHERE id = @id AND {CurrentUser.TokenValid} AND written()
            RETURNING id, username, email, bio, image, token_version AS tokenversion,
                      publish_user(id, (SELECT prior.username FROM users prior WHERE prior.id = @id), username) AS changes
            """,
            new
            {
                id = principal.Id(),
                tokenVersion = principal.TokenVersion(),
                sessionId,
                email,
                username,
                hash = changes?.Password.Value is { } password ? Passwords.Hash(password) : null,
                setBio = changes?.Bio.IsSet == true,
                bio = Validation.NullIfBlank(changes?.Bio.Value),
                setImage = changes?.Image.IsSet == true,
                image = Validation.NullIfBlank(changes?.Image.Value),
            });
        if (user is null) return ApiError.TokenInvalid;
        cache.Evict(user.Changes);
        return TypedResults.Ok(new UserResponse(user.ToUser(tokens.Issue(user.Id, user.TokenVersion, sessionId))));
    }

    /// <summary>Whether an update changes the credentials: a new password, or an email other than the old one (case aside).</summary>
    const string NewCredentials = "@hash IS NOT NULL OR lower(@email) <> lower(email)";
}
