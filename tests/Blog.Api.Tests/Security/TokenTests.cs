using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Blog.Api.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Blog.Api.Tests.Security;

/// <summary>Only tokens this service issued, unexpired, for a user who exists, are accepted.</summary>
public abstract class TokenTests(ApiFixture api) : ApiTests(api)
{
    static string Forge(string subject, Action<SecurityTokenDescriptor>? change = null, SigningCredentials? credentials = null)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = "blog-api",
            Audience = "blog-api",
            Subject = new ClaimsIdentity([new Claim("sub", subject)]),
            IssuedAt = DateTime.UtcNow,
            NotBefore = DateTime.UtcNow,
            Expires = DateTime.UtcNow.AddHours(1),
            SigningCredentials = credentials ?? new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(ApiFixture.JwtSecret)), SecurityAlgorithms.HmacSha256),
        };
        change?.Invoke(descriptor);
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    async Task<string> UserId(TestUser user) => (await CountAsync("SELECT id FROM users WHERE username = @username", new { user.Username })).ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_token_made_the_way_the_service_makes_them_is_accepted()
    {
        var user = await Register();
        (await Get("/api/user", Forge(await UserId(user)))).Is(HttpStatusCode.OK);
    }

    public static TheoryData<string> Forgeries => ["another key", "HS384", "RS256", "expired", "issuer", "audience", "no expiry"];

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task Tokens_with_another_key_algorithm_issuer_or_audience_or_expired_are_401(string forgery)
    {
        var user = await Register();
        var id = await UserId(user);
        var key = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(ApiFixture.JwtSecret));
        var token = forgery switch
        {
            "another key" => Forge(id, credentials: new SigningCredentials(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(64)), SecurityAlgorithms.HmacSha256)),
            "HS384" => Forge(id, credentials: new SigningCredentials(key, SecurityAlgorithms.HmacSha384)),
            "RS256" => Forge(id, credentials: new SigningCredentials(new RsaSecurityKey(RSA.Create(2048)), SecurityAlgorithms.RsaSha256)),
            "expired" => Forge(id, d => { d.IssuedAt = d.NotBefore = DateTime.UtcNow.AddHours(-2); d.Expires = DateTime.UtcNow.AddMinutes(-5); }),
            "issuer" => Forge(id, d => d.Issuer = "someone-else"),
            "audience" => Forge(id, d => d.Audience = "someone-else"),
            "no expiry" => Forge(id, d => d.Expires = null),
            _ => throw new ArgumentOutOfRangeException(nameof(forgery)),
        };
        (await Get("/api/user", token)).IsError(401, "token", "is invalid").TookRoundTrips(0);
        (await Get("/api/articles", token)).IsError(401, "token", "is invalid");
    }

    [Fact]
    public async Task Issued_tokens_live_seven_days()
    {
        var user = await Register();
        var token = new JsonWebToken(user.Token);
        Assert.Equal(TimeSpan.FromDays(7), token.ValidTo - token.IssuedAt);
        Assert.Equal("blog-api", token.Issuer);
    }

    [Fact]
    public async Task The_token_of_a_deleted_user_opens_nothing()
    {
        var gone = await Register("gone");
        var other = await Register("other");
        var slug = (await CreateArticle(other)).GetProperty("slug").GetString();
        await using (var connection = await Api.Db.OpenConnectionAsync())
        {
            await Dapper.SqlMapper.ExecuteAsync(connection, "DELETE FROM users WHERE username = @Username", new { gone.Username });
        }

        (await Get("/api/user", gone.Token)).IsError(401, "token", "is invalid");
        (await Put("/api/user", new { user = new { bio = "ghost" } }, gone.Token)).IsError(401, "token", "is invalid");
        (await Post("/api/articles", new { article = new { title = "t", description = "d", body = "b" } }, gone.Token)).IsError(401, "token", "is invalid");
        (await Post($"/api/articles/{slug}/comments", new { comment = new { body = "boo" } }, gone.Token)).IsError(401, "token", "is invalid");
        (await Post($"/api/articles/{slug}/favorite", null, gone.Token)).IsError(401, "token", "is invalid");
        (await Post($"/api/profiles/{other.Username}/follow", null, gone.Token)).IsError(401, "token", "is invalid");
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM articles"));
    }
}

public sealed class TokensInProcess(InProcessApi api) : TokenTests(api), IClassFixture<InProcessApi>;
public sealed class TokensBinary(BinaryApi api) : TokenTests(api), IClassFixture<BinaryApi>;
