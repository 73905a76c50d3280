using Blog.Api.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Blog.Api.Tests.Docs;

/// <summary>
/// The /docs page of the AOT binary in a real browser (tests/browser/docs.test.mjs, with
/// playwright-core and Debian's Chromium): every group renders, nothing loads from other
/// hosts, no console errors, and "try it" sends an authenticated request and shows the
/// answer. UPDATE_SCREENSHOT=1 refreshes docs/docs-page.png, the README's picture.
/// </summary>
public sealed class DocsPageTests(BinaryApi api, ITestOutputHelper output) : IClassFixture<BinaryApi>
{
    [SkippableFact]
    public async Task The_docs_page_works_in_a_browser_from_the_binary_alone()
    {
        var browserTests = Path.Combine(ServiceProcess.RepositoryRoot, "tests", "browser");
        var ready = Directory.Exists(Path.Combine(browserTests, "node_modules", "playwright-core")) && File.Exists("/usr/bin/chromium");
        Skip.If(!ready && Environment.GetEnvironmentVariable("CI") != "true", "needs `npm ci` in tests/browser and Debian's chromium (scripts/test sets both up)");

        var updating = Environment.GetEnvironmentVariable("UPDATE_SCREENSHOT") == "1";
        var screenshot = updating
            ? Path.Combine(ServiceProcess.RepositoryRoot, "docs", "docs-page.png")
            : Path.Combine(Path.GetTempPath(), $"blog-docs-{Guid.NewGuid():N}.png");
        try
        {
            var result = await Processes.RunAsync("env", $"BASE_URL={api.Client.BaseAddress!.ToString().TrimEnd('/')}", $"SCREENSHOT={screenshot}",
                "node", "--test", Path.Combine(browserTests, "docs.test.mjs"));

            output.WriteLine(result);
            Assert.Contains("# pass 1", result);
            Assert.Contains("# fail 0", result);
            Assert.True(new FileInfo(screenshot).Length > 10_000, "a screenshot of the page");
        }
        finally
        {
            if (!updating) File.Delete(screenshot);  // the run leaves nothing behind
        }
    }
}
