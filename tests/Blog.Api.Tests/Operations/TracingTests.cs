using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;
using Npgsql;

namespace Blog.Api.Tests.Operations;

/// <summary>
/// The binary's OpenTelemetry traces, exported over OTLP/HTTP to a receiver in the test:
/// each request a server span with its statement as a child, the standard variables obeyed,
/// and no secret in what leaves the machine.
/// </summary>
public sealed class TracingTests
{
    const string DatabasePassword = "db-password-that-must-not-leak";

    static async Task<ServiceProcess> StartTracedAsync(string name, OtlpReceiver receiver, params (string Key, string Value)[] more)
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync(name);
        var environment = ServiceProcess.EnvironmentFor(new NpgsqlConnectionStringBuilder(database) { Password = DatabasePassword }.ConnectionString, Processes.FreePort());
        environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint;
        environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        environment["OTEL_SERVICE_NAME"] = "blog-under-test";
        environment["OTEL_BSP_SCHEDULE_DELAY"] = "100";  // export every 100 ms, not every 5 s
        environment["FLY_REGION"] = "gru";
        environment["DIRECT_DATABASE_URL"] = environment["DATABASE_URL"];
        foreach (var (key, value) in more) environment[key] = value;
        return await ServiceProcess.StartHealthyAsync(environment);
    }

    static bool IsList(ReceivedSpan span) => span.Kind == ReceivedSpan.Server && span.Attributes.GetValueOrDefault("http.route")?.TrimEnd('/') == "/api/articles";

    [Fact]
    public async Task A_request_is_a_server_span_with_its_statement_as_a_child_and_nothing_secret_leaves()
    {
        using var receiver = new OtlpReceiver();
        await using var service = await StartTracedAsync("traced", receiver);

        // The first anonymous read also wakes the cache's listener (DIRECT_DATABASE_URL), a session
        // that outlives the request: its statements must not show as the request's.
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/api/articles?limit=5")).StatusCode);
        const string password = "a password that must not leak";
        using var registered = await service.Client.PostAsJsonAsync("/api/users", new { user = new { username = "traced", email = "traced@example.com", password } });
        Assert.Equal(HttpStatusCode.Created, registered.StatusCode);
        var token = (await registered.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("user").GetProperty("token").GetString()!;
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/user");
        request.Headers.Add("Authorization", $"Token {token}");
        Assert.Equal(HttpStatusCode.OK, (await service.Client.SendAsync(request)).StatusCode);

        // A server span ends after its statements, so once the three are in, so is everything they did.
        var spans = await receiver.WaitForAsync(spans => spans.Count(s => s.Kind == ReceivedSpan.Server) == 3);
        var list = Assert.Single(spans, IsList);
        Assert.Equal("GET /api/articles", list.Name.TrimEnd('/'));
        Assert.Equal("200", list.Attributes["http.response.status_code"]);
        Assert.Equal("", list.ParentSpanId);
        var statement = Assert.Single(spans, s => s.Scope == "Npgsql" && s.ParentSpanId == list.SpanId && s.Attributes.ContainsKey("db.query.text"));
        Assert.Equal(ReceivedSpan.Client, statement.Kind);
        Assert.Equal(list.TraceId, statement.TraceId);
        Assert.Equal("postgresql", statement.Attributes["db.system.name"]);
        Assert.Equal("primary", statement.Attributes["db.npgsql.data_source"]);
        Assert.Contains("FROM articles", statement.Attributes["db.query.text"], StringComparison.Ordinal);
        Assert.Equal(["GET /api/articles", "GET /api/user", "POST /api/users"], spans.Where(s => s.Kind == ReceivedSpan.Server).Select(s => s.Name.TrimEnd('/')).Order());
        Assert.Equal("blog-under-test", list.Resource["service.name"]);
        Assert.Equal("gru", list.Resource["cloud.region"]);

        // Every statement belongs to a request (no trace of the service's own background work:
        // the listener's LISTEN and pings), and health checks (StartHealthyAsync polled
        // /health/ready) are not traced.
        Assert.All(spans.Where(s => s.Scope == "Npgsql"), s => Assert.Contains(spans, parent => parent.SpanId == s.ParentSpanId && parent.Kind == ReceivedSpan.Server));
        Assert.DoesNotContain(spans, s => s.Name.Contains("/health", StringComparison.Ordinal));

        foreach (var secret in new[] { DatabasePassword, password, token, token.Split('.')[2], ApiFixture.JwtSecret })
        {
            var bytes = Encoding.UTF8.GetBytes(secret);
            Assert.DoesNotContain(receiver.Payloads, payload => payload.AsSpan().IndexOf(bytes) >= 0);
        }
    }

    [Fact]
    public async Task The_sampler_is_the_one_OTEL_TRACES_SAMPLER_names()
    {
        // parentbased_always_off: a request traces only when its caller's trace is sampled.
        using var receiver = new OtlpReceiver();
        await using var service = await StartTracedAsync("sampled", receiver, ("OTEL_TRACES_SAMPLER", "parentbased_always_off"));

        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/api/articles")).StatusCode);  // not sampled
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        using var sampled = new HttpRequestMessage(HttpMethod.Get, "/api/articles");
        sampled.Headers.Add("traceparent", $"00-{traceId}-00f067aa0ba902b7-01");
        Assert.Equal(HttpStatusCode.OK, (await service.Client.SendAsync(sampled)).StatusCode);

        // The unsampled request came first, so it would have been exported no later than the sampled one.
        var spans = await receiver.WaitForAsync(spans => spans.Any(s => IsList(s) && s.TraceId == traceId));
        var list = Assert.Single(spans, IsList);
        Assert.Equal("00f067aa0ba902b7", list.ParentSpanId);
        Assert.Contains(spans, s => s.Scope == "Npgsql" && s.ParentSpanId == list.SpanId);
        Assert.All(spans, s => Assert.Equal(traceId, s.TraceId));
    }
}
