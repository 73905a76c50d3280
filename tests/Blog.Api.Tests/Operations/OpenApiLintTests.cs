using System.Text.Json.Nodes;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Operations;

/// <summary>
/// The committed OpenAPI document (src/common/openapi.json, the one the binary serves and the
/// npm package is made from; OpenApiSnapshotTests keep it equal to the live one) passes Redocly
/// CLI's recommended rules with no error and no warning (tests/lint, pinned; scripts/test installs it).
/// </summary>
public sealed class OpenApiLintTests
{
    static string Lint => Path.Combine(ServiceProcess.RepositoryRoot, "tests", "lint");

    static Task<(int ExitCode, string Output)> RedoclyAsync(string document)
    {
        var redocly = Path.Combine(Lint, "node_modules", ".bin", "redocly");
        Assert.True(File.Exists(redocly), $"{redocly} is missing: scripts/test installs it (tests/lint)");
        return Processes.RunWithExitCodeAsync(redocly, "lint", "--config", Path.Combine(Lint, "redocly.yaml"), "--format", "stylish", document);
    }

    [Fact]
    public async Task The_document_passes_the_recommended_rules_without_an_error_or_a_warning()
    {
        var (exitCode, output) = await RedoclyAsync(OpenApiSnapshotTests.SnapshotPath);

        Assert.True(exitCode == 0, output);
        Assert.Contains("Your API description is valid", output);
        Assert.DoesNotContain("warning", output.Split('\n').Where(line => !line.Contains('║')).Aggregate("", (all, line) => all + line + "\n"), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_document_that_breaks_a_rule_fails_the_lint()
    {
        var document = JsonNode.Parse(await File.ReadAllTextAsync(OpenApiSnapshotTests.SnapshotPath))!.AsObject();
        document["paths"]!["/api/users"]!["post"]!.AsObject().Remove("security");  // sign-up would then declare nothing
        var broken = Path.Combine(Path.GetTempPath(), $"blog-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(broken, document.ToJsonString());
        try
        {
            var (exitCode, output) = await RedoclyAsync(broken);

            Assert.NotEqual(0, exitCode);
            Assert.Contains("security-defined", output);
        }
        finally
        {
            File.Delete(broken);
        }
    }

    [Fact]
    public void No_rule_is_switched_off_without_its_reason()
    {
        var lines = File.ReadAllLines(Path.Combine(Lint, "redocly.yaml"));
        for (var i = 0; i < lines.Length; i++)
        {
            if (!lines[i].TrimEnd().EndsWith(": off", StringComparison.Ordinal)) continue;
            Assert.True(lines[i].Contains('#') || (i > 0 && lines[i - 1].TrimStart().StartsWith('#')), $"redocly.yaml:{i + 1} switches a rule off without saying why");
        }
    }
}
