using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Deployment;

/// <summary>
/// The final container stage, assembled from the published binary the way the Containerfile
/// does it, runs the service. Base images cannot be pulled here, so scripts/check-image
/// chroots into the tree instead of running a container (which needs root).
/// </summary>
public sealed class ImageTests
{
    [SkippableFact]
    public async Task The_final_stage_tree_runs_the_binary_and_stays_under_40_MB()
    {
        Skip.IfNot(Processes.IsRoot, "chroot needs root");
        var (connectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("image");
        var output = await Processes.RunAsync("env", $"DATABASE_URL={connectionString}",
            Path.Combine(ServiceProcess.RepositoryRoot, "scripts", "check-image"), ServiceProcess.BinaryPath);

        Assert.Contains("check-image: OK", output);
        var size = long.Parse(output.Split('\n').Single(l => l.StartsWith("final stage:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
        Assert.True(size <= 40_000_000, $"the final stage is {size} bytes");
        Assert.Contains("libssl.so.3", output);
    }
}
