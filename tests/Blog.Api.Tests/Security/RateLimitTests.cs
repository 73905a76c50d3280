using System.Net;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Security;

public abstract class RateLimitTests(ApiFixture api) : ApiTests(api)
{
    public const int Limit = 3;

    Task<Reply> Login(string email, string? flyClientIp = null, string password = "wrong password")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/users/login")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { user = new { email, password } }),
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

    [SkippableFact]
    public async Task A_client_network_is_an_IPv4_address_or_an_IPv6_64()
    {
        Skip.IfNot(TrustsFly, "needs client addresses from Fly-Client-IP");
        for (var i = 0; i < Limit; i++) (await Login("someone@example.com", $"2001:db8:1:2::{i + 1:x}")).IsError(401, "credentials", "invalid");

        Assert.Equal(429, (int)(await Login("someone@example.com", "2001:db8:1:2:ffff:ffff:ffff:ffff")).Status);  // the same /64
        (await Login("someone@example.com", "2001:db8:1:3::1")).IsError(401, "credentials", "invalid");        // the next one
    }

    [SkippableFact]
    public async Task An_account_slows_down_after_five_failures_from_anywhere_and_its_owner_gets_back_in()
    {
        Skip.IfNot(TrustsFly, "needs client addresses from Fly-Client-IP");
        var owner = await Register("owner");
        string Address(int i) => $"198.51.100.{i}";  // a new address each time: the network limit never applies
        for (var i = 1; i <= 5; i++) (await Login(owner.Email, Address(i))).IsError(401, "credentials", "invalid").TookRoundTrips(1);

        var refused = await Login(owner.Email, Address(6), owner.Password);  // even the right password waits
        refused.IsError(429, "requests", refused.Json.GetProperty("errors").GetProperty("requests")[0].GetString()!).TookRoundTrips(1);
        Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single()), 1, 2);
        (await Login("someone-else@example.com", Address(7))).IsError(401, "credentials", "invalid");  // other accounts are not affected

        await Task.Delay(TimeSpan.FromSeconds(2.1));
        (await Login(owner.Email, Address(8), owner.Password)).Is(HttpStatusCode.OK);
        (await Login("someone-else@example.com", Address(9))).IsError(401, "credentials", "invalid");  // takes the owner's success back
        Assert.Equal(0, await CountAsync("SELECT failures FROM sign_in_limits WHERE key = 'account:' || lower(@email)", new { owner.Email }));
    }

    [SkippableFact]
    public async Task After_a_hundred_failures_in_a_row_an_account_waits_a_day()
    {
        Skip.IfNot(TrustsFly, "needs client addresses from Fly-Client-IP");
        var owner = await Register("owner");
        await CountAsync("INSERT INTO sign_in_limits (key, window_start, failures) VALUES ('account:' || lower(@email), now(), 99)", new { owner.Email });

        (await Login(owner.Email, "198.51.100.1")).IsError(401, "credentials", "invalid");  // the hundredth
        var refused = await Login(owner.Email, "198.51.100.2", owner.Password);
        Assert.Equal(429, (int)refused.Status);
        Assert.InRange(int.Parse(refused.Headers.GetValues("Retry-After").Single()), 86_000, 86_400);
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
