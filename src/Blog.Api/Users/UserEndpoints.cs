using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Blog.Api.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Blog.Api.Users;

public sealed record RegisterRequest([property: Required] NewUser? User);
public sealed record NewUser(
    [property: Required, StringLength(Limits.Username), RegularExpression(@"^[\p{L}\p{Nd}_.-]+$"), Description("Letters, digits, '_', '-' and '.'; unique, case-insensitively.")] string? Username,
    [property: Required, StringLength(Limits.Email), EmailAddress] string? Email,
    [property: Required, StringLength(Limits.PasswordMax, MinimumLength = Limits.PasswordMin)] string? Password);

public sealed record LoginRequest([property: Required] LoginUser? User);
public sealed record LoginUser([property: Required] string? Email, [property: Required] string? Password);

public sealed record UpdateUserRequest([property: Required] UserChanges? User);
[Description("Any of the fields; absent ones stay as they are. bio and image are cleared with null or \"\".")]
public sealed record UserChanges(
    [property: StringLength(Limits.Email), EmailAddress] OptionalString Email = default,
    [property: StringLength(Limits.Username), RegularExpression(@"^[\p{L}\p{Nd}_.-]+$")] OptionalString Username = default,
    [property: StringLength(Limits.PasswordMax, MinimumLength = Limits.PasswordMin)] OptionalString Password = default,
    [property: StringLength(Limits.Bio), Clearable] OptionalString Bio = default,
    [property: StringLength(Limits.Image), RegularExpression("^(https?://.+)?$"), Clearable, Description("An http(s) URL.")] OptionalString Image = default);

public sealed record UserResponse(User User);
public sealed record User(string Email, string Token, string Username, string? Bio, string? Image);

sealed record UserRow(long Id, string Username, string Email, string? Bio, string? Image)
{
    public User ToUser(string token) => new(Email, token, Username, Bio, Image);
}

sealed record LoginRow(long Id, string Username, string Email, string? Bio, string? Image, string PasswordHash);

public static class UserEndpoints
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
        RegisterRequest? request, NpgsqlDataSource db, Tokens tokens, CancellationToken ct)
    {
        var (username, email, password) = (request?.User?.Username?.Trim(), request?.User?.Email?.Trim(), request?.User?.Password);
        var check = new Validation();
        check.Username("username", username);
        check.Email("email", email);
        check.Password("password", password);
        if (check.Failed) return check.Error;

        // A taken username or email is the unique index's call (409 in ErrorHandling), so
        // two registrations racing for one name cannot both win.
        await using var connection = db.CreateConnection();
        var user = await connection.QuerySingleAsync<UserRow>("""
            INSERT INTO users (username, email, password_hash)
            VALUES (@username, @email, @hash)
            RETURNING id, username, email, bio, image
            """, new { username, email, hash = Passwords.Hash(password!) }, commandTimeout: Database.CommandTimeout);
        return TypedResults.Created($"/api/profiles/{Uri.EscapeDataString(user.Username)}", new UserResponse(user.ToUser(tokens.Issue(user.Id))));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Login(
        LoginRequest? request, NpgsqlDataSource db, Tokens tokens, CancellationToken ct)
    {
        var (email, password) = (request?.User?.Email?.Trim(), request?.User?.Password);
        var check = new Validation();
        check.Required("email", email, Limits.Email);
        check.Required("password", password, Limits.PasswordMax);
        if (check.Failed) return check.Error;

        await using var connection = db.CreateConnection();
        var user = await connection.QuerySingleOrDefaultAsync<LoginRow>("""
            SELECT id, username, email, bio, image, password_hash AS passwordhash
            FROM users
            WHERE lower(email) = lower(@email)
            """, new { email }, commandTimeout: Database.CommandTimeout);
        if (!Passwords.Verify(user?.PasswordHash, password!)) return ApiError.BadCredentials;
        return TypedResults.Ok(new UserResponse(new User(user!.Email, tokens.Issue(user.Id), user.Username, user.Bio, user.Image)));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Current(
        ClaimsPrincipal principal, HttpRequest http, NpgsqlDataSource db, CancellationToken ct)
    {
        await using var connection = db.CreateConnection();
        var user = await connection.QuerySingleOrDefaultAsync<UserRow>(
            "SELECT id, username, email, bio, image FROM users WHERE id = @id", new { id = principal.Id() }, commandTimeout: Database.CommandTimeout);
        // A valid token of a user who no longer exists is as good as a forged one.
        if (user is null) return ApiError.TokenInvalid;
        return TypedResults.Ok(new UserResponse(user.ToUser(Tokens.FromHeader(http.Headers.Authorization)!)));
    }

    static async Task<Results<Ok<UserResponse>, ApiError>> Update(
        UpdateUserRequest? request, ClaimsPrincipal principal, NpgsqlDataSource db, Tokens tokens, CancellationToken ct)
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
        if (changes is not { Email.IsSet: true } and not { Username.IsSet: true } and not { Password.IsSet: true } and not { Bio.IsSet: true } and not { Image.IsSet: true })
        {
            check.Add("user", "can't be blank");
        }
        if (check.Failed) return check.Error;

        await using var connection = db.CreateConnection();
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
            }, commandTimeout: Database.CommandTimeout);
        if (user is null) return ApiError.TokenInvalid;
        return TypedResults.Ok(new UserResponse(user.ToUser(tokens.Issue(user.Id))));
    }

}
