using System.Net;
using Blog.Api.Tests.Infrastructure;
using Tomlyn;
using Tomlyn.Model;

namespace Blog.Api.Tests.Deployment;

/// <summary>The Containerfile and fly.toml say what the deployment needs.</summary>
public sealed class DeploymentFilesTests
{
    static string Read(string file) => File.ReadAllText(Path.Combine(ServiceProcess.RepositoryRoot, file));

    static TomlTable Fly() => TomlSerializer.Deserialize<TomlTable>(Read("fly.toml"))!;

    static string FinalStageSetting(string instruction) => Assert.Single(Stages()[^1].Lines, l => l.Instruction == instruction).Arguments;

    /// <summary>The Containerfile's stages, each a list of (instruction, arguments).</summary>
    static List<(string From, List<(string Instruction, string Arguments)> Lines)> Stages()
    {
        var stages = new List<(string, List<(string, string)>)>();
        var logical = Read("Containerfile").Replace("\\\n", " ").Split('\n')
            .Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#'));
        foreach (var line in logical)
        {
            var space = line.IndexOf(' ');
            var (instruction, arguments) = (line[..space].ToUpperInvariant(), line[(space + 1)..].Trim());
            if (instruction == "FROM") stages.Add((arguments, []));
            else stages[^1].Item2.Add((instruction, arguments));
        }
        return stages;
    }

    [Fact]
    public void The_Containerfile_builds_in_one_stage_and_runs_a_bare_non_root_stage()
    {
        var stages = Stages();
        Assert.True(stages.Count >= 2, "multi-stage");

        var build = stages[0];
        Assert.StartsWith("mcr.microsoft.com/dotnet/sdk:10.0", build.From);
        Assert.Contains(build.Lines, l => l.Instruction == "RUN" && l.Arguments.Contains("dotnet publish"));
        Assert.Contains(build.Lines, l => l.Instruction == "RUN" && l.Arguments.Contains("scripts/image-tree"));

        var final = stages[^1];
        Assert.Equal("scratch AS final", final.From);
        Assert.Contains(final.Lines, l => l.Instruction == "COPY" && l.Arguments.StartsWith("--from=build /rootfs", StringComparison.Ordinal));
        var user = Assert.Single(final.Lines, l => l.Instruction == "USER").Arguments;
        Assert.DoesNotMatch("^(root|0)(:|$)", user);
        Assert.Equal("8080", Assert.Single(final.Lines, l => l.Instruction == "EXPOSE").Arguments);
        Assert.Equal("[\"/app/Blog.Api\"]", Assert.Single(final.Lines, l => l.Instruction == "ENTRYPOINT").Arguments);
    }

    [Fact]
    public void Fly_runs_small_machines_near_the_database_with_checks_and_migrations()
    {
        var fly = Fly();

        Assert.Equal("blog-api", fly["app"]);
        Assert.False(string.IsNullOrEmpty(fly["primary_region"] as string));
        Assert.Equal("Containerfile", ((TomlTable)fly["build"])["dockerfile"]);
        Assert.Equal("/app/Blog.Api migrate", ((TomlTable)fly["deploy"])["release_command"]);

        var http = (TomlTable)fly["http_service"];
        Assert.Equal(8080L, http["internal_port"]);
        Assert.Equal(true, http["force_https"]);
        Assert.Equal("suspend", http["auto_stop_machines"]);  // Reliability/SuspendTests: a thawed binary answers at once
        Assert.Equal(true, http["auto_start_machines"]);
        Assert.True((long)http["min_machines_running"] >= 1);
        var concurrency = (TomlTable)http["concurrency"];
        Assert.Equal("requests", concurrency["type"]);
        Assert.True((long)concurrency["soft_limit"] < (long)concurrency["hard_limit"]);
        var checks = ((TomlTableArray)http["checks"]).Select(c => c["path"]).ToArray();
        Assert.Contains("/health", checks);
        Assert.Contains("/health/ready", checks);

        var vm = ((TomlTableArray)fly["vm"])[0];
        Assert.Equal("256mb", vm["memory"]);
        // Fly must wait longer than the service drains requests on SIGTERM.
        var drain = long.Parse((string)((TomlTable)fly["env"])["SHUTDOWN_TIMEOUT_SECONDS"]);
        Assert.True((long)fly["kill_timeout"] > drain);
    }

    [Fact]
    public void Fly_builds_the_Containerfile_and_sends_traffic_to_the_port_the_image_listens_on()
    {
        var fly = Fly();
        var dockerfile = (string)((TomlTable)fly["build"])["dockerfile"];
        Assert.True(File.Exists(Path.Combine(ServiceProcess.RepositoryRoot, dockerfile)), $"[build] dockerfile names {dockerfile}, which is not in the repository");
        Assert.Equal("Containerfile", dockerfile);

        var port = (long)((TomlTable)fly["http_service"])["internal_port"];
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), (string)((TomlTable)fly["env"])["PORT"]);
        Assert.Contains($"PORT={port}", FinalStageSetting("ENV"));
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), FinalStageSetting("EXPOSE"));
    }

    [Fact]
    public async Task The_release_command_is_a_sub_command_of_the_binary_and_migrates()
    {
        var release = ((string)((TomlTable)Fly()["deploy"])["release_command"]).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // The command names the image's entry point, then the sub-command.
        Assert.Equal(FinalStageSetting("ENTRYPOINT"), $"[\"{release[0]}\"]");
        var database = await (await PostgresServer.Instance).CreateEmptyDatabaseAsync();

        var run = await ServiceProcess.RunAsync(FlyEnvironment(database), release[1..]);

        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("Applied 0001_init.sql", run.Output);
    }

    [Fact]
    public async Task Every_health_check_in_fly_toml_answers_200_from_the_binary()
    {
        var fly = Fly();
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("fly");
        var environment = FlyEnvironment(database);
        foreach (var port in new[] { "PORT", "METRICS_PORT", "PEER_PORT" }) environment[port] = $"{Processes.FreePort()}";  // fly.toml's 8080, 9091 and 8081 may be taken here
        await using var service = await ServiceProcess.StartHealthyAsync(environment);

        var checks = (TomlTableArray)((TomlTable)fly["http_service"])["checks"];
        Assert.NotEmpty(checks);
        foreach (var check in checks)
        {
            using var request = new HttpRequestMessage(new HttpMethod((string)check["method"]), (string)check["path"]);
            using var response = await service.Client.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{check["method"]} {check["path"]} answered {(int)response.StatusCode}");
        }
    }

    /// <summary>The binary's environment on Fly: fly.toml's [env], plus the secrets.</summary>
    static Dictionary<string, string?> FlyEnvironment(string databaseUrl)
    {
        var environment = ServiceProcess.EnvironmentFor(databaseUrl);
        foreach (var (name, value) in (TomlTable)Fly()["env"]) environment[name] = (string)value;
        return environment;
    }
}
