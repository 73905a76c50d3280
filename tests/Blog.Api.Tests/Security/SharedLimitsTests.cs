using System.Net;
using System.Net.Http.Json;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Security;

/// <summary>
/// Two instances of the binary on one database, as two machines (or regions) of one app: a
/// client that alternates between them gets the limit once, not once per instance.
/// </summary>
public sealed class SharedLimitsTests
{
    [Fact]
    public async Task Failed_sign_ins_alternating_between_two_instances_hit_the_limit_at_one_instances_total()
    {
        const int limit = 4;
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("shared");
        Dictionary<string, string?> Environment()
        {
            var environment = ServiceProcess.EnvironmentFor(database, Processes.FreePort());
            environment["AUTH_RATE_LIMIT"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return environment;
        }
        await using var a = await ServiceProcess.StartHealthyAsync(Environment());
        await using var b = await ServiceProcess.StartHealthyAsync(Environment());

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < limit * 2; i++)
        {
            var client = i % 2 == 0 ? a.Client : b.Client;
            using var reply = await client.PostAsJsonAsync("/api/users/login", new { user = new { email = "victim@example.com", password = $"guess {i}" } });
            statuses.Add(reply.StatusCode);
        }

        Assert.Equal(Enumerable.Repeat(HttpStatusCode.Unauthorized, limit), statuses.Take(limit));
        Assert.All(statuses.Skip(limit), status => Assert.Equal(HttpStatusCode.TooManyRequests, status));
    }
}
