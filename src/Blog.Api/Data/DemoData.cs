using Blog.Api.Auth;
using Npgsql;

namespace Blog.Api.Data;

/// <summary>Demo users, follows, articles, tags, favorites and comments; safe to run again.</summary>
internal static class DemoData
{
    public const string Password = "demo-password";

    public static async Task SeedAsync(NpgsqlDataSource db, CancellationToken ct = default)
    {
        await using var cmd = db.CreateCommand(Migrations.ReadScript("seed.sql"));
        cmd.Parameters.AddWithValue("hash", Passwords.Hash(Password));
        await cmd.ExecuteNonQueryAsync(ct);
    }
}
