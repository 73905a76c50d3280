using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Blog.Api.Infrastructure;

public static class Health
{
    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<DatabaseReady>("database", tags: ["ready"], timeout: TimeSpan.FromSeconds(3));
        return services;
    }

    /// <summary>/health says the process runs (no database); /health/ready that it can serve.</summary>
    public static void MapHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health", new HealthCheckOptions { Predicate = _ => false }).WithTags("Operations");
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") }).WithTags("Operations");
    }

    sealed class DatabaseReady(NpgsqlDataSource db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct)
        {
            try
            {
                var version = await Migrations.CurrentVersionAsync(db, ct);
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
