using Blog.Api.Data;
using Blog.Api.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Blog.Api.Hosting;

internal static class Health
{
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseReady>("database", tags: ["ready"], timeout: TimeSpan.FromSeconds(3));
        return services;
    }

    /// <summary>
    /// /health says the process runs (no database); /health/ready that it can serve (the
    /// database answers and is migrated). Route handlers rather than MapHealthChecks, so the
    /// OpenAPI document shows them.
    /// </summary>
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        var operations = app.MapGroup("/health").WithTags("Operations");
        operations.MapGet("", () => TypedResults.Text("Healthy"))
            .WithName("Health").WithSummary("Liveness: the process is up (never touches the database)").Produces<string>(200, "text/plain");
        operations.MapGet("/ready", Ready)
            .WithName("Ready").WithSummary("Readiness: the database is reachable and migrated (and the read replica's state, when there is one)").Produces<string>(200, "text/plain").ProducesErrors(503);
    }

    static async Task<Results<ContentHttpResult, ApiError>> Ready(HealthCheckService health, Db db, CancellationToken ct)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains("ready"), ct);
        if (report.Status != HealthStatus.Healthy) return ApiError.Unavailable;
        // A replica's state is reported, never a reason to take the instance out: the primary serves.
        return TypedResults.Text(db.Replica switch
        {
            null => "Healthy",
            { State: Replica.Health.Serving } replica => $"Healthy; replica: serving reads, {replica.Lag.TotalSeconds:F3} s behind",
            { State: Replica.Health.Starting } => "Healthy; replica: not checked yet, reads go to the primary",
            { State: var state } => $"Healthy; replica: {state.ToString().ToLowerInvariant()}, reads go to the primary",
        });
    }

    sealed class DatabaseReady(Db db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct)
        {
            try
            {
                var version = await Migrations.CurrentVersionAsync(db.Source, ct);
                return version >= Migrations.Latest
                    ? HealthCheckResult.Healthy()
                    : HealthCheckResult.Unhealthy($"database schema is at version {version}, this build needs {Migrations.Latest}");
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("database unreachable or not migrated");
            }
        }
    }
}
