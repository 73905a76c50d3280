using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Operations;

/// <summary>
/// src/common/openapi.json is the document the framework generates (under the JIT, where it
/// runs), committed: the AOT binary serves it and the npm package is generated from it. The
/// in-process test fails when the live document drifts from it; the binary test, when the
/// binary serves anything else. Refresh with scripts/refresh-openapi.
/// </summary>
public abstract class OpenApiSnapshotTests(ApiFixture api) : ApiTests(api)
{
    public static string SnapshotPath => Path.Combine(ServiceProcess.RepositoryRoot, "src", "common", "openapi.json");

    /// <summary>The document as committed: indented, one newline at the end (its servers are relative, no host's).</summary>
    public static string Normalize(string document) =>
        JsonNode.Parse(document)!.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

    protected static async Task<string> Snapshot() => File.Exists(SnapshotPath) ? await File.ReadAllTextAsync(SnapshotPath) : "";
}

public sealed class OpenApiSnapshotInProcess(InProcessApi api) : OpenApiSnapshotTests(api), IClassFixture<InProcessApi>
{
    [Fact]
    public async Task The_live_document_matches_the_committed_snapshot()
    {
        var live = Normalize((await Get("/openapi/v1.json")).Is(HttpStatusCode.OK).Text);
        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1") await File.WriteAllTextAsync(SnapshotPath, live);
        Assert.True(await Snapshot() == live,
            "/openapi/v1.json differs from src/common/openapi.json. If the API change is intended, run scripts/refresh-openapi and commit the snapshot (the binary serves it; the npm package is generated from it).");
    }
}

public sealed class OpenApiSnapshotBinary(BinaryApi api) : OpenApiSnapshotTests(api), IClassFixture<BinaryApi>
{
    [Fact]
    public async Task The_binary_serves_the_committed_snapshot()
    {
        var served = (await Get("/openapi/v1.json")).Is(HttpStatusCode.OK);
        Assert.Equal(await Snapshot(), served.Text);
        Assert.Equal("application/json", served.ContentHeaders.ContentType?.MediaType);
    }
}
