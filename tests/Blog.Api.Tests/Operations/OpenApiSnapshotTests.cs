using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Operations;

/// <summary>
/// src/common (the npm package) is generated from src/common/openapi.json; this fails when
/// the live document drifts from that snapshot. Refresh with scripts/refresh-openapi.
/// </summary>
public abstract class OpenApiSnapshotTests(ApiFixture api) : ApiTests(api)
{
    public static string SnapshotPath => Path.Combine(ServiceProcess.RepositoryRoot, "src", "common", "openapi.json");

    /// <summary>The document without its servers (they name the host that served it).</summary>
    public static string Normalize(string document)
    {
        var root = JsonNode.Parse(document)!.AsObject();
        root.Remove("servers");
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    [Fact]
    public async Task The_live_document_matches_the_committed_snapshot()
    {
        var live = Normalize((await Get("/openapi/v1.json")).Is(HttpStatusCode.OK).Text);
        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1" && Api is InProcessApi)
        {
            await File.WriteAllTextAsync(SnapshotPath, live);
        }
        var snapshot = File.Exists(SnapshotPath) ? await File.ReadAllTextAsync(SnapshotPath) : "";
        Assert.True(snapshot == live,
            $"/openapi/v1.json ({Api.Kind}) differs from src/common/openapi.json. If the API change is intended, run scripts/refresh-openapi and commit the snapshot (the npm package is generated from it).");
    }
}

public sealed class OpenApiSnapshotInProcess(InProcessApi api) : OpenApiSnapshotTests(api), IClassFixture<InProcessApi>;
public sealed class OpenApiSnapshotBinary(BinaryApi api) : OpenApiSnapshotTests(api), IClassFixture<BinaryApi>;
