using Blog.Api.Auth;
using Blog.Api.Data;
using Blog.Api.Http;
using Dapper;

namespace Blog.Api.Users;

/// <summary>Signing in with email and password, for both surfaces (/api/users/login, /api/v1/user/signin).</summary>
internal static class SignIn
{
    /// <summary>The user these credentials belong to, or the 422/401 to answer with.</summary>
    public static async Task<(LoginRow? User, ApiError? Error)> AttemptAsync(Db db, string? email, string? password)
    {
        email = email?.Trim();
        var check = new Validation();
        check.Required("email", email, Limits.Email);
        check.Required("password", password, Limits.PasswordMax);
        if (check.Failed) return (null, check.Error);

        await using var connection = db.Write();
        var user = await connection.QuerySingleOrDefaultAsync<LoginRow>("""
            SELECT id, username, email, bio, image, password_hash AS passwordhash
            FROM users
            WHERE lower(email) = lower(@email)
            """, new { email });
        return Passwords.Verify(user?.PasswordHash, password!) ? (user, null) : (null, ApiError.BadCredentials);
    }
}
