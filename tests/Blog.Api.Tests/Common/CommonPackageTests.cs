using Blog.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Blog.Api.Tests.Common;

/// <summary>
/// The npm package's generated client (src/common, built by scripts/test) used from Node
/// against the AOT binary: register, log in, publish an article and read it back, and v1.
/// </summary>
public sealed class CommonPackageTests(BinaryApi api, ITestOutputHelper output) : IClassFixture<BinaryApi>
{
    [SkippableFact]
    public async Task The_generated_client_works_against_the_binary()
    {
        var package = Path.Combine(ServiceProcess.RepositoryRoot, "src", "common");
        Skip.If(!File.Exists(Path.Combine(package, "dist", "index.js")) && Environment.GetEnvironmentVariable("CI") != "true",
            "build the package first: (cd src/common && npm ci && npm run build); scripts/test does");

        var result = await Processes.RunAsync("env", $"BASE_URL={api.Client.BaseAddress!.ToString().TrimEnd('/')}",
            "node", "--test", Path.Combine(package, "test", "e2e.test.mjs"));

        output.WriteLine(result);
        Assert.Contains("# pass 2", result);
        Assert.Contains("# fail 0", result);
    }
}
