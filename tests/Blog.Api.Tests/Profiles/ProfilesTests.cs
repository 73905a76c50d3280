using System.Net;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Profiles;

public abstract class ProfilesTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task Anyone_can_read_a_profile_and_following_is_false_for_anonymous_callers()
    {
        var celeb = await Register("celeb");

        var reply = await Get($"/api/profiles/{celeb.Username}");

        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        var profile = reply["profile"];
        Assert.Equal(celeb.Username, profile.GetProperty("username").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, profile.GetProperty("bio").ValueKind);
        Assert.False(profile.GetProperty("following").GetBoolean());
    }

    [Fact]
    public async Task Following_is_relative_to_the_caller()
    {
        var celeb = await Register("celeb");
        var fan = await Register("fan");
        var other = await Register("other");

        var followed = await Post($"/api/profiles/{celeb.Username}/follow", null, fan.Token);

        followed.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.True(followed["profile"].GetProperty("following").GetBoolean());
        Assert.True((await Get($"/api/profiles/{celeb.Username}", fan.Token))["profile"].GetProperty("following").GetBoolean());
        Assert.False((await Get($"/api/profiles/{celeb.Username}", other.Token))["profile"].GetProperty("following").GetBoolean());
        Assert.False((await Get($"/api/profiles/{celeb.Username}"))["profile"].GetProperty("following").GetBoolean());
    }

    [Fact]
    public async Task Follow_and_unfollow_are_idempotent()
    {
        var celeb = await Register("celeb");
        var fan = await Register("fan");

        (await Post($"/api/profiles/{celeb.Username}/follow", null, fan.Token)).Is(HttpStatusCode.OK);
        (await Post($"/api/profiles/{celeb.Username}/follow", null, fan.Token)).Is(HttpStatusCode.OK);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM follows"));

        var unfollowed = await Delete($"/api/profiles/{celeb.Username}/follow", fan.Token);
        unfollowed.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.False(unfollowed["profile"].GetProperty("following").GetBoolean());
        (await Delete($"/api/profiles/{celeb.Username}/follow", fan.Token)).Is(HttpStatusCode.OK);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM follows"));
    }

    [Fact]
    public async Task Usernames_in_paths_are_case_insensitive()
    {
        var celeb = await Register("Celeb");
        var reply = await Get($"/api/profiles/{celeb.Username.ToUpperInvariant()}");
        reply.Is(HttpStatusCode.OK);
        Assert.Equal(celeb.Username, reply["profile"].GetProperty("username").GetString());
    }

    [Fact]
    public async Task An_unknown_profile_is_404_everywhere()
    {
        var fan = await Register("fan");
        (await Get("/api/profiles/nobody-here")).IsError(404, "profile", "not found").TookRoundTrips(1);
        (await Post("/api/profiles/nobody-here/follow", null, fan.Token)).IsError(404, "profile", "not found").TookRoundTrips(1);
        (await Delete("/api/profiles/nobody-here/follow", fan.Token)).IsError(404, "profile", "not found").TookRoundTrips(1);
    }

    [Fact]
    public async Task Following_yourself_is_422_and_stores_nothing()
    {
        var narcissus = await Register("narc");
        (await Post($"/api/profiles/{narcissus.Username}/follow", null, narcissus.Token))
            .IsError(422, "profile", "cannot follow yourself").TookRoundTrips(1);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM follows"));
    }

    [Fact]
    public async Task Follow_and_unfollow_need_a_token()
    {
        var celeb = await Register("celeb");
        (await Post($"/api/profiles/{celeb.Username}/follow")).IsError(401, "token", "is missing").TookRoundTrips(0);
        (await Delete($"/api/profiles/{celeb.Username}/follow")).IsError(401, "token", "is missing").TookRoundTrips(0);
        (await Get($"/api/profiles/{celeb.Username}", "not-a-token")).IsError(401, "token", "is invalid").TookRoundTrips(0);
    }

    [Fact]
    public async Task A_follow_storm_leaves_exactly_one_row_per_pair()
    {
        var celeb = await Register("celeb");
        var fans = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Register("fan")));

        var storm = await Task.WhenAll(fans.SelectMany(fan => Enumerable.Range(0, 6).Select(i => i % 2 == 0
            ? Post($"/api/profiles/{celeb.Username}/follow", null, fan.Token)
            : Delete($"/api/profiles/{celeb.Username}/follow", fan.Token))));
        Assert.All(storm, reply => reply.Is(HttpStatusCode.OK));
        Assert.InRange(await CountAsync("SELECT count(*) FROM follows"), 0, 5);

        await Task.WhenAll(fans.Select(fan => Post($"/api/profiles/{celeb.Username}/follow", null, fan.Token)));
        Assert.Equal(5, await CountAsync("SELECT count(*) FROM follows"));
    }
}

public sealed class ProfilesInProcess(InProcessApi api) : ProfilesTests(api), IClassFixture<InProcessApi>;
public sealed class ProfilesBinary(BinaryApi api) : ProfilesTests(api), IClassFixture<BinaryApi>;
