using Blog.Api.Http;
namespace Blog.Api.Hosting;

/// <summary>How the process runs at the edge: port, limits, logs, shutdown, CORS.</summary>
internal static class EdgeHosting
{
    public static WebApplicationBuilder ConfigureEdgeHosting(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var settings = kestrel.ApplicationServices.GetRequiredService<Settings>();
            // ASPNETCORE_URLS, the framework's own setting, where it is given (a laptop's
            // http://127.0.0.1:5000 means exactly that); else PORT on every interface, as on Fly.
            // Either way Kestrel logs the addresses once at start ("Now listening on").
            if (settings.Urls is { } urls)
            {
                foreach (var url in urls) Listen(kestrel, url);
            }
            else
            {
                kestrel.ListenAnyIP(settings.Port);
            }
            if (settings.MetricsPort != 0) kestrel.ListenAnyIP(settings.MetricsPort);  // Prometheus (Metrics), Fly's private network
            if (settings.PeerPort != 0) kestrel.ListenAnyIP(settings.PeerPort);  // the region's other instances (Caching/RegionPeers), the same
            kestrel.Limits.MaxRequestBodySize = Limits.RequestBody;
            kestrel.AddServerHeader = false;
        });

        // One JSON object per line on stdout, for Fly's log shipping. Nothing here logs
        // request bodies, headers or connection strings, so no secret reaches the logs.
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(json =>
        {
            json.UseUtcTimestamp = true;
            json.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            json.IncludeScopes = false;
        });
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

        // On SIGTERM (Fly stopping an idle machine) Kestrel stops accepting and in-flight
        // requests get this long to finish before the process exits.
        builder.Services.AddOptions<HostOptions>().Configure<Settings>((host, settings) => host.ShutdownTimeout = settings.ShutdownTimeout);

        builder.Services.AddHostedService<IdleMemory>();

        builder.Services.AddCors();
        builder.Services.AddOptions<Microsoft.AspNetCore.Cors.Infrastructure.CorsOptions>().Configure<Settings>((cors, settings) =>
            cors.AddDefaultPolicy(policy =>
            {
                if (settings.CorsOrigins is { } origins) policy.WithOrigins([.. origins]);
                else policy.AllowAnyOrigin();
                policy.WithMethods("GET", "POST", "PUT", "DELETE", "OPTIONS").WithHeaders("Content-Type", "Authorization");
            }));
        return builder;
    }

    /// <summary>One address of ASPNETCORE_URLS (checked in Settings): a host Kestrel binds as the framework would.</summary>
    static void Listen(Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions kestrel, Uri url)
    {
        switch (url.Host.Trim('[', ']'))
        {
            case "localhost":
                kestrel.ListenLocalhost(url.Port);
                break;
            case "0.0.0.0" or "::":
                kestrel.ListenAnyIP(url.Port);
                break;
            case var address:
                kestrel.Listen(System.Net.IPAddress.Parse(address), url.Port);
                break;
        }
    }
}
