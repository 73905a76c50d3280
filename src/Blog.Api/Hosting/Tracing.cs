using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Blog.Api.Hosting;

/// <summary>
/// OpenTelemetry traces, exported with OTLP, on only when an exporter endpoint is configured
/// through the standard variables (OTEL_EXPORTER_OTLP_ENDPOINT or
/// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT; OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_PROTOCOL,
/// OTEL_TRACES_SAMPLER and the rest are read by the SDK itself). Off, nothing is registered
/// and no activity is created. Each request's server span has its statements as child spans
/// (Npgsql's ActivitySource), and a CONNECT span when it opened a connection. Background work
/// (the listener's pings, replica checks; see Background) starts no trace of its own.
/// </summary>
internal static class Tracing
{
    static bool Enabled(IConfiguration config) =>
        (config["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } || config["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] is { Length: > 0 })
        && !string.Equals(config["OTEL_SDK_DISABLED"], "true", StringComparison.OrdinalIgnoreCase);

    public static void AddTracing(this WebApplicationBuilder builder)
    {
        if (!Enabled(builder.Configuration)) return;
        // Where the span was served: the Fly region and machine (the standard resource attributes).
        var machine = new Dictionary<string, object>();
        if (builder.Configuration["FLY_REGION"] is { Length: > 0 } region) machine["cloud.region"] = region;
        if (builder.Configuration["FLY_MACHINE_ID"] is { Length: > 0 } id) machine["service.instance.id"] = id;
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddAttributes(machine))
            .WithTracing(tracing => tracing
                // Health checks and metric scrapes come every few seconds and say nothing about users.
                .AddAspNetCoreInstrumentation(options => options.Filter = http =>
                    !http.Request.Path.StartsWithSegments("/health") && !http.Request.Path.StartsWithSegments("/metrics"))
                .AddSource("Npgsql")
                .AddOtlpExporter());
    }
}
