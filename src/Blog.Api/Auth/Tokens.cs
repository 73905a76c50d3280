using System.Buffers.Text;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Blog.Api.Http;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Blog.Api.Auth;

/// <summary>
/// Issues the API's JWTs (HS256, subject = user id) and configures the framework's JWT bearer
/// handler to accept exactly those, under the RealWorld <c>Token</c> scheme, <c>Bearer</c>, or
/// as a bare token (the /api/v1 front end sends it that way).
/// </summary>
internal sealed class Tokens
{
    public const string Issuer = "blog-api";
    public const string Audience = "blog-api";
    public const int MinSecretBytes = 32;  // HS256 wants a key at least as long as its hash
    public static readonly TimeSpan Lifetime = TimeSpan.FromDays(7);
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(1);

    readonly Lazy<SymmetricSecurityKey[]> keys;
    readonly Lazy<SigningCredentials> credentials;
    readonly JsonWebTokenHandler handler = new();

    /// <summary>
    /// Signs with <paramref name="secret"/> (JWT_SECRET) and accepts tokens signed with it or
    /// with any of <paramref name="accepted"/> (JWT_ACCEPTED_SECRETS): a rotation signs nobody
    /// out (README, Deploying). Each key is named in its tokens' header (kid). The keys are made
    /// when a token is first issued or checked, not at start: naming them takes a SHA-256, which
    /// loads OpenSSL, and an instance that only ever serves anonymous readers (4.4 MB of idle
    /// memory, measured) never needs it.
    /// </summary>
    public Tokens(string secret, IReadOnlyList<string>? accepted = null)
    {
        keys = new Lazy<SymmetricSecurityKey[]>(() => [KeyFor(secret), .. (accepted ?? []).Select(KeyFor)]);
        credentials = new Lazy<SigningCredentials>(() => new SigningCredentials(keys.Value[0], SecurityAlgorithms.HmacSha256));
    }

    public static Tokens From(Hosting.Settings settings) => new(settings.JwtSecret, settings.JwtAcceptedSecrets);

    /// <summary>The keys tokens are accepted with: the signing key first.</summary>
    public IReadOnlyList<SymmetricSecurityKey> Keys => keys.Value;

    /// <summary>The keys a token may be signed with: the one its kid names, else (a token from before kids) each.</summary>
    IEnumerable<SecurityKey> KeysFor(string? kid) =>
        keys.Value.FirstOrDefault(key => key.KeyId == kid) is { } named ? [named] : keys.Value;

    /// <summary>
    /// A secret's key, named by the first 48 bits of the secret's SHA-256 (base64url): enough to
    /// tell a few keys apart, and nothing about the secret.
    /// </summary>
    static SymmetricSecurityKey KeyFor(string secret)
    {
        var bytes = Encoding.UTF8.GetBytes(secret);
        return new SymmetricSecurityKey(bytes) { KeyId = Base64Url.EncodeToString(SHA256.HashData(bytes).AsSpan(0, 6)) };
    }

    /// <summary>
    /// The claim with the version of the user's credentials the token was issued for
    /// (users.token_version): a new password or email makes the older tokens invalid, but for
    /// those of the session that made the change (<see cref="SessionClaim"/>).
    /// </summary>
    public const string VersionClaim = "ver";

    /// <summary>
    /// The claim with the session the token belongs to: a random id made at sign-up or sign-in
    /// and kept by the fresh tokens a user update answers with. A password or email change
    /// keeps its own session signed in (users.kept_session, migration 0011).
    /// </summary>
    public const string SessionClaim = JwtRegisteredClaimNames.Sid;

    /// <summary>A new session's id: 96 random bits, base64url.</summary>
    public static string NewSession() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12));

    /// <summary>A token for the user at that version of their credentials, in <paramref name="session"/>.</summary>
    public string Issue(long userId, int tokenVersion, string session) => handler.CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Audience,
        Subject = new ClaimsIdentity([
            new Claim(JwtRegisteredClaimNames.Sub, userId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new Claim(VersionClaim, tokenVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), ClaimValueTypes.Integer32),
            new Claim(SessionClaim, session),
        ]),
        Expires = DateTime.UtcNow.Add(Lifetime),
        SigningCredentials = credentials.Value,
    });

    /// <summary>The token in an Authorization header: "Token x", "Bearer x" or a bare "x".</summary>
    public static string? FromHeader(string? header)
    {
        if (string.IsNullOrWhiteSpace(header)) return null;
        var space = header.IndexOf(' ');
        if (space < 0) return header;
        var scheme = header.AsSpan(0, space);
        return scheme.Equals("Token", StringComparison.OrdinalIgnoreCase) || scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase)
            ? header[(space + 1)..].Trim()
            : null;
    }

    public void Configure(JwtBearerOptions options)
    {
        options.MapInboundClaims = false;  // keep "sub" as "sub"
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = Issuer,
            ValidAudience = Audience,
            IssuerSigningKeyResolver = (_, _, kid, _) => KeysFor(kid),  // made at the first token, not at start
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],  // no "none", no algorithm swaps
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ClockSkew = ClockSkew,
        };
        options.Events = new JwtBearerEvents
        {
            OnMessageReceived = context =>
            {
                context.Token = FromHeader(context.Request.Headers.Authorization);
                return Task.CompletedTask;
            },
            // Only reached on endpoints that require a user; bad tokens were already turned
            // away by RejectInvalidTokens, so what is left here is a missing one.
            OnChallenge = context =>
            {
                context.HandleResponse();
                return ApiError.TokenMissing.ExecuteAsync(context.HttpContext);
            },
        };
    }
}
