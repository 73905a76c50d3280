using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Deployment;

/// <summary>
/// The image, built as `fly deploy` builds it, as far as this machine allows. Base images
/// cannot be pulled here: scripts/check-containerfile replays the Containerfile's build stage
/// from a clean export on this machine's SDK, and scripts/check-image chroots into the final
/// stage's tree instead of running a container. Both need root.
/// </summary>
public sealed class ImageTests
{
    static string Script(string name) => Path.Combine(ServiceProcess.RepositoryRoot, "scripts", name);

    [SkippableFact]
    public async Task The_final_stage_tree_runs_the_binary_and_stays_under_40_MB()
    {
        Skip.IfNot(Processes.IsRoot, "chroot needs root");
        var (connectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("image");
        var output = await Processes.RunAsync("env", $"DATABASE_URL={connectionString}", Script("check-image"), ServiceProcess.BinaryPath);

        Assert.Contains("check-image: OK", output);
        AssertTreeSize(output);
        Assert.Contains("libssl.so.3", output);
    }

    [SkippableFact]
    public async Task The_Containerfile_build_stage_replayed_from_a_clean_export_builds_a_tree_that_runs()
    {
        Skip.IfNot(Processes.IsRoot, "a mount namespace and chroot need root");
        var (connectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("containerfile");

        var (exitCode, output) = await Processes.RunWithExitCodeAsync("env", $"DATABASE_URL={connectionString}", Script("check-containerfile"));

        Assert.True(exitCode == 0, output);
        Assert.Contains("RUN dotnet publish", output);
        Assert.Contains("check-image: OK", output);
        Assert.Contains("check-containerfile: OK", output);
        AssertTreeSize(output);
    }

    [SkippableFact]
    public async Task A_file_the_build_needs_but_the_Containerfile_does_not_copy_fails_the_replay()
    {
        Skip.IfNot(Processes.IsRoot, "a mount namespace and chroot need root");
        // The publish embeds src/common/openapi.json: without its COPY line the image cannot build.
        var lines = File.ReadAllLines(Path.Combine(ServiceProcess.RepositoryRoot, "Containerfile"));
        var copy = Assert.Single(lines, l => l.StartsWith("COPY ", StringComparison.Ordinal) && l.Contains("openapi.json", StringComparison.Ordinal));
        var broken = Path.Combine(Path.GetTempPath(), $"Containerfile-{Guid.NewGuid():N}");
        await File.WriteAllLinesAsync(broken, lines.Where(l => l != copy));
        try
        {
            var (exitCode, output) = await Processes.RunWithExitCodeAsync(Script("check-containerfile"), "--containerfile", broken);

            Assert.NotEqual(0, exitCode);
            Assert.Contains("openapi.json", output);
            Assert.Contains("RUN dotnet publish", output);
            Assert.DoesNotContain("check-containerfile: OK", output);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    static void AssertTreeSize(string output)
    {
        var size = long.Parse(output.Split('\n').Single(l => l.StartsWith("final stage:", StringComparison.Ordinal) && !l.Contains("--tree", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
        Assert.True(size <= 40_000_000, $"the final stage is {size} bytes");
    }
}
