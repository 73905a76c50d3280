using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Blog.Api.Http;

namespace Blog.Api.Users;

internal sealed record RegisterRequest([property: Required] NewUser? User);
internal sealed record NewUser(
    [property: Required, StringLength(Limits.Username), RegularExpression(@"^[\p{L}\p{Nd}_.-]+$"), Description("Letters, digits, '_', '-' and '.'; unique, case-insensitively.")] string? Username,
    [property: Required, StringLength(Limits.Email), EmailAddress] string? Email,
    [property: Required, StringLength(Limits.PasswordMax, MinimumLength = Limits.PasswordMin)] string? Password);

internal sealed record LoginRequest([property: Required] LoginUser? User);
internal sealed record LoginUser([property: Required] string? Email, [property: Required] string? Password);

internal sealed record UpdateUserRequest([property: Required] UserChanges? User);
[Description("Any of the fields; absent ones stay as they are. bio and image are cleared with null or \"\".")]
internal sealed record UserChanges(
    [property: StringLength(Limits.Email), EmailAddress] OptionalString Email = default,
    [property: StringLength(Limits.Username), RegularExpression(@"^[\p{L}\p{Nd}_.-]+$")] OptionalString Username = default,
    [property: StringLength(Limits.PasswordMax, MinimumLength = Limits.PasswordMin)] OptionalString Password = default,
    [property: StringLength(Limits.Bio), Clearable] OptionalString Bio = default,
    [property: StringLength(Limits.Image), RegularExpression("^(https?://.+)?$"), Clearable, Description("An http(s) URL.")] OptionalString Image = default)
{
    public bool ChangesNothing() => !Email.IsSet && !Username.IsSet && !Password.IsSet && !Bio.IsSet && !Image.IsSet;
}

internal sealed record UserResponse(User User);
internal sealed record User(string Email, string Token, string Username, string? Bio, string? Image);

/// <summary>A user as statements return them; an update answers what it published for the edge cache.</summary>
internal sealed record UserRow(long Id, string Username, string Email, string? Bio, string? Image, int TokenVersion, string? Changes)
{
    public User ToUser(string token) => new(Email, token, Username, Bio, Image);
}

/// <summary>A registration: the seconds to wait (refused by a limit), or the user created (none when taken).</summary>
internal sealed record RegisterRow(int? RetryAfter, bool EmailTaken, long? Id, string? Username, string? Email, string? Bio, string? Image, int? TokenVersion);

/// <summary>
/// A sign-in: the account's limit key, and either the seconds to wait (refused by a limit)
/// or the user found by email (none when unknown) with the hash to check the password against.
/// </summary>
internal sealed record SignInRow(string AccountKey, int? RetryAfter, long? Id, string? Username, string? Email, string? Bio, string? Image,
    string? PasswordHash, int? TokenVersion)
{
    public User ToUser(string token) => new(Email!, token, Username!, Bio, Image);
}
