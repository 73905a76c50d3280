using System.Security.Claims;
using Blog.Api.Auth;
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
        RegisterRequest? request, Db db, Tokens tokens, CancellationToken ct)
    {
        var (username, email, password) = (request?.User?.Username?.Trim(), request?.User?.Email?.Trim(), request?.User?.Password);
        var check = new Validation();
        check.Username("username", username);
        check.Email("email", email);
        check.Password("password", password);
        if (check.Failed) return check.Error;

        // A taken username or email is the unique index's call (409 in ErrorHandling), so
        // two registrations racing for one name cannot both win.
        await using var connection = db.Write();
        var user = await connection.QuerySingleAsync<UserRow>("""
            INSERT INTO users (username, email, password_hash)
            VALUES (@username, @email, @hash)
            RETURNING id, username, email, bio, image
            """, new { username, email, hash = Passwords.Hash(password!) });
        return TypedResults.Created($"/api/profiles/{Uri.EscapeDataString(user.Username)}", new UserResponse(user.ToUser(tokens.Issue(user.Id))));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Login(LoginRequest? request, Db db, Tokens tokens)
    {
        var (user, error) = await SignIn.AttemptAsync(db, request?.User?.Email, request?.User?.Password);
        return error ?? (Results<Ok<UserResponse>, ApiError>)TypedResults.Ok(new UserResponse(user!.ToUser(tokens.Issue(user.Id))));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Current(
        ClaimsPrincipal principal, HttpRequest http, Db db, CancellationToken ct)
    {
        await using var connection = db.Read();
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(
            "SELECT id, username, email, bio, image FROM users WHERE id = @id", new { id = principal.Id() });
        // A valid token of a user who no longer exists is as good as a forged one.
        if (user is null) return ApiError.TokenInvalid;
        return TypedResults.Ok(new UserResponse(user.ToUser(Tokens.FromHeader(http.Headers.Authorization)!)));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Update(
        UpdateUserRequest? request, ClaimsPrincipal principal, Db db, Tokens tokens, CancellationToken ct)
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

        await using var connection = db.Write();
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>("""
            UPDATE users SET
                email         = coalesce(@email, email),
                username      = coalesce(@username, username),
                password_hash = coalesce(@hash, password_hash),
                bio           = CASE WHEN @setBio THEN @bio ELSE bio END,
                image         = CASE WHEN @setImage THEN @image ELSE image END,
                updated_at    = now()
            WHERE id = @id
            RETURNING id, username, email, bio, image
            """,
            new
            {
                id = principal.Id(),
                email,
                username,
                hash = changes?.Password.Value is { } password ? Passwords.Hash(password) : null,
                setBio = changes?.Bio.IsSet == true,
                bio = Validation.NullIfBlank(changes?.Bio.Value),
                setImage = changes?.Image.IsSet == true,
                image = Validation.NullIfBlank(changes?.Image.Value),
            });
        if (user is null) return ApiError.TokenInvalid;
        return TypedResults.Ok(new UserResponse(user.ToUser(tokens.Issue(user.Id))));
    }

}
