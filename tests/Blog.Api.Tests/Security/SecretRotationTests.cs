using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Blog.Api.Tests.Security;

/// <summary>
/// A rotation of JWT_SECRET as the README does it with `fly secrets set`, machine states side by
/// side on one database: the next secret accepted first, then signing with the previous one still
/// accepted, then the previous one dropped. Nobody is signed out until the last step, and only
/// tokens of the dropped secret are refused then.
/// </summary>
public sealed class SecretRotationTests
{
    const string Old = "the-secret-before-the-rotation-0123456789abcdef";
    const string New = "the-secret-after-the-rotation-0123456789abcdefgh";

    static async Task<ServiceProcess> StartAsync(string database, string secret, string? accepted = null)
    {
        var environment = ServiceProcess.EnvironmentFor(database, Processes.FreePort());
        environment["JWT_SECRET"] = secret;
        if (accepted is not null) environment["JWT_ACCEPTED_SECRETS"] = accepted;
        return await ServiceProcess.StartHealthyAsync(environment);
    }

    static async Task<string> SignUpAsync(ServiceProcess service, string name)
    {
        using var reply = await service.Client.PostAsJsonAsync("/api/users", new { user = new { username = name, email = $"{name}@example.com", password = "rotation password" } });
        Assert.Equal(HttpStatusCode.Created, reply.StatusCode);
        return JsonDocument.Parse(await reply.Content.ReadAsStringAsync()).RootElement.GetProperty("user").GetProperty("token").GetString()!;
    }

    static async Task<HttpStatusCode> WriteAsync(ServiceProcess service, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/articles")
        {
            Content = JsonContent.Create(new { article = new { title = "Still signed in", description = "d", body = "b" } }),
        };
        request.Headers.TryAddWithoutValidation("Authorization", $"Token {token}");
        using var reply = await service.Client.SendAsync(request);
        return reply.StatusCode;
    }

    static async Task<HttpStatusCode> ReadUserAsync(ServiceProcess service, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/user");
        request.Headers.TryAddWithoutValidation("Authorization", $"Token {token}");
        using var reply = await service.Client.SendAsync(request);
        return reply.StatusCode;
    }

    [Fact]
    public async Task A_rotation_in_three_steps_signs_nobody_out_and_dropping_the_old_secret_refuses_only_its_tokens()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("rotation");
        await using var before = await StartAsync(database, Old);
        var oldToken = await SignUpAsync(before, "before");

        // Step 1: the next secret is accepted everywhere before any machine signs with it.
        await using var accepting = await StartAsync(database, Old, accepted: New);
        // Step 2: machines sign with the next secret and still accept the previous one; during the
        // rolling restart, machines of step 1 accept what these sign.
        await using var signing = await StartAsync(database, New, accepted: Old);
        var newToken = await SignUpAsync(signing, "after");
        Assert.NotEqual(new JsonWebToken(oldToken).Kid, new JsonWebToken(newToken).Kid);

        foreach (var machine in new[] { accepting, signing })
        {
            foreach (var token in new[] { oldToken, newToken })
            {
                Assert.Equal(HttpStatusCode.OK, await ReadUserAsync(machine, token));
                Assert.Equal(HttpStatusCode.Created, await WriteAsync(machine, token));
            }
        }

        // Step 3, a token lifetime later: the previous secret is dropped, and only its tokens are refused.
        await using var after = await StartAsync(database, New);
        Assert.Equal(HttpStatusCode.Unauthorized, await ReadUserAsync(after, oldToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await WriteAsync(after, oldToken));
        Assert.Equal(HttpStatusCode.OK, await ReadUserAsync(after, newToken));
        Assert.Equal(HttpStatusCode.Created, await WriteAsync(after, newToken));
        Assert.Equal(HttpStatusCode.Unauthorized, await ReadUserAsync(before, newToken));  // a machine that never heard of the new secret
    }

    [Fact]
    public async Task A_token_names_its_key_and_the_name_tells_nothing_of_the_secret()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("kid");
        await using var service = await StartAsync(database, Old);
        var kid = new JsonWebToken(await SignUpAsync(service, "named")).Kid;

        Assert.Matches("^[A-Za-z0-9_-]{8}$", kid);
        Assert.DoesNotContain(kid, Old, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_accepted_secret_that_is_too_short_stops_start_up_with_a_message()
    {
        var environment = ServiceProcess.EnvironmentFor("Host=127.0.0.1", Processes.FreePort());
        environment["JWT_ACCEPTED_SECRETS"] = "short";
        await using var service = ServiceProcess.Start(environment);
        await service.WaitForExitAsync(TimeSpan.FromSeconds(10));

        Assert.NotEqual(0, service.ExitCode);
        Assert.Contains(service.Output, line => line.Contains("JWT_ACCEPTED_SECRETS is invalid", StringComparison.Ordinal));
    }
}
