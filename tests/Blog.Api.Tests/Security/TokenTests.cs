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

    async Task<string> SignIn(TestUser user, string? password = null) =>
        (await Post("/api/users/login", new { user = new { email = user.Email, password = password ?? user.Password } })).Is(HttpStatusCode.OK)["user"].GetProperty("token").GetString()!;

    [Theory]
    [InlineData("password")]
    [InlineData("email")]
    public async Task A_new_password_or_email_signs_out_every_other_session_on_every_write_and_on_the_user(string change)
    {
        var user = await Register();
        var other = await Register("other");
        var slug = (await CreateArticle(other, "Theirs")).GetProperty("slug").GetString();
        var mine = (await CreateArticle(user, "Mine")).GetProperty("slug").GetString();
        var elsewhere = await SignIn(user);  // the same account, signed in on another device
        var v1 = (await Post("/api/v1/user/signin", new { email = user.Email, password = user.Password })).Is(HttpStatusCode.OK)["jwt"].GetString()!;
        var blogId = await CountAsync("SELECT count(*) FROM articles");  // the scene is set before the change

        object body = change == "password" ? new { user = new { password = "a completely new password" } } : new { user = new { email = "moved-" + user.Email } };
        var changed = await Put("/api/user", body, user.Token);
        changed.Is(HttpStatusCode.OK).TookRoundTrips(1);
        var fresh = changed["user"].GetProperty("token").GetString()!;
        Assert.NotEqual(user.Token, fresh);

        foreach (var old in new[] { elsewhere, v1 })
        {
            (await Get("/api/user", old)).IsError(401, "token", "is invalid").TookRoundTrips(1);
            (await Put("/api/user", new { user = new { bio = "x" } }, old)).IsError(401, "token", "is invalid");
            (await Post("/api/articles", new { article = new { title = "t", description = "d", body = "b" } }, old)).IsError(401, "token", "is invalid").TookRoundTrips(1);
            (await Put($"/api/articles/{mine}", new { article = new { title = "Stolen" } }, old)).IsError(401, "token", "is invalid");
            (await Delete($"/api/articles/{mine}", old)).IsError(401, "token", "is invalid");
            (await Delete("/api/articles/no-such-article", old)).IsError(401, "token", "is invalid");  // before anything else
            (await Post($"/api/articles/{slug}/favorite", null, old)).IsError(401, "token", "is invalid");
            (await Delete($"/api/articles/{slug}/favorite", old)).IsError(401, "token", "is invalid");
            (await Post($"/api/articles/{slug}/comments", new { comment = new { body = "c" } }, old)).IsError(401, "token", "is invalid");
            (await Delete($"/api/articles/{slug}/comments/1", old)).IsError(401, "token", "is invalid");
            (await Post($"/api/profiles/{other.Username}/follow", null, old)).IsError(401, "token", "is invalid");
            (await Delete($"/api/profiles/{other.Username}/follow", old)).IsError(401, "token", "is invalid");
            (await Send(HttpMethod.Post, "/api/v1/blog", new { title = "t", content = "c" }, old, scheme: "")).IsError(401, "token", "is invalid");
        }
        Assert.Equal(blogId, await CountAsync("SELECT count(*) FROM articles"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM favorites"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM comments"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM follows"));

        // The session that made the change stays signed in, with the token it made it with and the fresh one.
        foreach (var kept in new[] { user.Token, fresh })
        {
            (await Get("/api/user", kept)).Is(HttpStatusCode.OK).TookRoundTrips(1);
            (await Post($"/api/articles/{slug}/favorite", null, kept)).Is(HttpStatusCode.OK).TookRoundTrips(1);
        }
    }

    [Fact]
    public async Task Two_password_changes_in_a_row_with_the_first_token_both_succeed_as_the_RealWorld_suite_sends_them()
    {
        var user = await Register();
        (await Put("/api/user", new { user = new { password = "bonjour1" } }, user.Token)).Is(HttpStatusCode.OK);
        var second = await Put("/api/user", new { user = new { password = new string('x', 64) } }, user.Token);
        second.Is(HttpStatusCode.OK);

        (await Get("/api/user", user.Token)).Is(HttpStatusCode.OK);
        (await Get("/api/user", second["user"].GetProperty("token").GetString())).Is(HttpStatusCode.OK);
        await SignIn(user, new string('x', 64));
        (await Post("/api/users/login", new { user = new { email = user.Email, password = "bonjour1" } })).IsError(401, "credentials", "invalid");
    }

    [Fact]
    public async Task A_session_signed_out_by_a_change_stays_out_when_the_other_session_changes_again()
    {
        var user = await Register();
        var laptop = await SignIn(user);
        var phone = (await Put("/api/user", new { user = new { password = "changed on the phone" } }, user.Token)).Is(HttpStatusCode.OK)["user"].GetProperty("token").GetString()!;
        (await Put("/api/user", new { user = new { password = "the laptop takes over" } }, laptop)).IsError(401, "token", "is invalid");

        // The laptop signs in again with the new password and changes it: now the phone's session is the one signed out.
        laptop = await SignIn(user, "changed on the phone");
        (await Put("/api/user", new { user = new { email = "laptop-" + user.Email } }, laptop)).Is(HttpStatusCode.OK);
        (await Get("/api/user", phone)).IsError(401, "token", "is invalid");
        (await Get("/api/user", user.Token)).IsError(401, "token", "is invalid");
        (await Get("/api/user", laptop)).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_token_from_before_sessions_is_signed_out_by_its_own_change_but_the_answer_is_signed_in()
    {
        var user = await Register();
        var id = await UserId(user);
        var version = await CountAsync("SELECT token_version FROM users WHERE username = @Username", new { user.Username });
        // As the release before sessions issued them: a version, no session id.
        var old = Forge(id, d => d.Claims = new Dictionary<string, object> { ["ver"] = (int)version });
        var changed = await Put("/api/user", new { user = new { password = "a password for the new release" } }, old);
        changed.Is(HttpStatusCode.OK);
        (await Get("/api/user", old)).IsError(401, "token", "is invalid");
        (await Get("/api/user", changed["user"].GetProperty("token").GetString())).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Other_changes_keep_the_tokens_working()
    {
        var user = await Register();
        (await Put("/api/user", new { user = new { bio = "new bio", username = user.Username + "2", email = user.Email.ToUpperInvariant() } }, user.Token)).Is(HttpStatusCode.OK);
        (await Get("/api/user", user.Token)).Is(HttpStatusCode.OK);
        await CreateArticle(user, "Still signed in");
    }
}

public sealed class TokensInProcess(InProcessApi api) : TokenTests(api), IClassFixture<InProcessApi>;
public sealed class TokensBinary(BinaryApi api) : TokenTests(api), IClassFixture<BinaryApi>;
