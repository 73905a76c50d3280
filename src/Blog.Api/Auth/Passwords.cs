using Microsoft.AspNetCore.Identity;

namespace Blog.Api.Auth;

/// <summary>The framework's PBKDF2 password hasher (salted, versioned hashes).</summary>
internal static class Passwords
{
    sealed class Account;

    static readonly PasswordHasher<Account> Hasher = new();
    static readonly Account Anyone = new();

    // Verified against when the email is unknown, so a miss costs as long as a wrong password
    // and response times do not reveal which emails have accounts.
    static readonly Lazy<string> Decoy = new(() => Hash(Guid.NewGuid().ToString()));

    public static string Hash(string password) => Hasher.HashPassword(Anyone, password);

    public static bool Verify(string? hash, string password)
    {
        var result = Hasher.VerifyHashedPassword(Anyone, hash ?? Decoy.Value, password);
        return hash is not null && result != PasswordVerificationResult.Failed;
    }
}
