using System.Net;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Security;

public abstract class RateLimitTests(ApiFixture api) : ApiTests(api)
{
    public const int Limit = 3;

    Task<Reply> Login(string email, string? flyClientIp = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/login")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { user = new { email, password = "wrong password" } }),
        };
        if (flyClientIp is not null) request.Headers.Add("Fly-Client-IP", flyClientIp);
        return Send(request);
    }

    protected abstract bool TrustsFly { get; }

    /// <summary>
    /// One story per server (the limit's window outlives a test): the address signs in until
    /// the limit, gets 429 with Retry-After, for sign-ups too; a second address that differs
    /// only in Fly-Client-IP has its own budget only when that header is trusted.
    /// </summary>
    [Fact]
    public async Task Sign_ins_and_sign_ups_past_the_limit_are_429_per_client_address()
    {
        const string first = "203.0.113.7", second = "203.0.113.8";
        for (var i = 0; i < Limit; i++) (await Login("someone@example.com", first)).IsError(401, "credentials", "invalid");

        var limited = await Login("someone@example.com", first);
        Assert.Equal(429, (int)limited.Status);
        limited.IsError(429, "requests", limited.Json.GetProperty("errors").GetProperty("requests")[0].GetString()!);
        Assert.InRange(int.Parse(limited.Headers.GetValues("Retry-After").Single()), 1, 60);

        var signup = new HttpRequestMessage(HttpMethod.Post, "/api/v1/user/signup") { Content = System.Net.Http.Json.JsonContent.Create(new { email = "new@example.com", password = "long enough" }) };
        signup.Headers.Add("Fly-Client-IP", first);
        Assert.Equal(429, (int)(await Send(signup)).Status);

        var other = await Login("someone@example.com", second);
        if (TrustsFly) other.IsError(401, "credentials", "invalid");
        else Assert.Equal(429, (int)other.Status);  // a client cannot escape the limit by sending the header
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM users"));
    }
}

public sealed class TrustingFlyApi : InProcessApi
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["AUTH_RATE_LIMIT"] = RateLimitTests.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["TRUST_FLY_CLIENT_IP"] = "true",
    };
}

public sealed class NotTrustingFlyBinaryApi : BinaryApi
{
    protected override IReadOnlyDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["AUTH_RATE_LIMIT"] = RateLimitTests.Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };
}

public sealed class RateLimitInProcess(TrustingFlyApi api) : RateLimitTests(api), IClassFixture<TrustingFlyApi>
{
    protected override bool TrustsFly => true;
}

public sealed class RateLimitBinary(NotTrustingFlyBinaryApi api) : RateLimitTests(api), IClassFixture<NotTrustingFlyBinaryApi>
{
    protected override bool TrustsFly => false;
}
