using System.Text.RegularExpressions;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Deployment;

/// <summary>
/// Squawk (tests/lint, pinned; scripts/test installs it) on every migration: an operation that
/// would hold a lock requests queue behind, or a schema choice it warns about, fails the suite
/// unless the statement carries an ignore comment with its reason on the line above.
/// </summary>
public sealed partial class MigrationLintTests
{
    static string Lint => Path.Combine(ServiceProcess.RepositoryRoot, "tests", "lint");
    static string MigrationsFolder => Path.Combine(ServiceProcess.RepositoryRoot, "src", "Blog.Api", "Data", "Migrations");

    static Task<(int ExitCode, string Output)> SquawkAsync(params string[] files)
    {
        var squawk = Path.Combine(Lint, "node_modules", ".bin", "squawk");
        Assert.True(File.Exists(squawk), $"{squawk} is missing: scripts/test installs it (npm ci in tests/lint)");
        return Processes.RunWithExitCodeAsync([squawk, "-c", Path.Combine(Lint, ".squawk.toml"), "--reporter", "gcc", .. files]);
    }

    [Fact]
    public async Task Every_migration_passes_Squawk()
    {
        var files = Directory.GetFiles(MigrationsFolder, "*.sql").Order().ToArray();
        Assert.True(files.Length >= 12);

        var (exitCode, output) = await SquawkAsync(files);

        Assert.True(exitCode == 0 && output.Trim().Length == 0, output);
    }

    [Fact]
    public async Task A_new_migration_with_an_operation_that_blocks_requests_fails_the_lint()
    {
        var folder = Directory.CreateTempSubdirectory("blog-lint-").FullName;
        try
        {
            var unsafeMigration = Path.Combine(folder, "0099_unsafe.sql");
            await File.WriteAllTextAsync(unsafeMigration, """
                -- An index built the blocking way on a table requests write to, and a column whose type change rewrites the table.
                CREATE INDEX articles_title ON articles (title);
                ALTER TABLE articles ALTER COLUMN title TYPE varchar(300);
                """);

            var (exitCode, output) = await SquawkAsync(unsafeMigration);

            Assert.NotEqual(0, exitCode);
            Assert.Contains("require-concurrent-index-creation", output);
            Assert.Contains("changing-column-type", output);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Every_ignored_rule_says_why_on_the_line_above()
    {
        foreach (var file in Directory.GetFiles(MigrationsFolder, "*.sql"))
        {
            var lines = File.ReadAllLines(file);
            for (var i = 0; i < lines.Length; i++)
            {
                if (!lines[i].TrimStart().StartsWith("-- squawk-ignore", StringComparison.Ordinal)) continue;
                var above = i > 0 ? lines[i - 1].Trim() : "";
                Assert.True(Reason().IsMatch(above), $"{Path.GetFileName(file)}:{i + 1}: {lines[i].Trim()} has no reason on the line above");
            }
        }
    }

    [GeneratedRegex(@"^-- Lint: \S.{10,}")]
    private static partial Regex Reason();
}
