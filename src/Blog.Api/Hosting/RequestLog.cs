using System.Diagnostics;

namespace Blog.Api.Hosting;

/// <summary>
/// One log line per request, in the JSON log format: method, route template (never the path
/// as sent, which may carry anything), status, duration, region and trace id. Nothing from
/// headers, query or body, so no token or password can reach it. REQUEST_LOGS=false turns it off.
/// </summary>
internal static partial class RequestLog
{
    public static WebApplication UseRequestLog(this WebApplication app, Settings settings)
    {
        if (!settings.RequestLogs) return app;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Blog.Api.Requests");
        if (!log.IsEnabled(LogLevel.Information)) return app;
        app.Use(async (context, next) =>
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await next(context);
            }
            finally
            {
                var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
                Served(log, context.Request.Method, route, context.Response.StatusCode,
                    Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 2), settings.Region, Activity.Current?.TraceId.ToString());
            }
        });
        return app;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "{Method} {Route} {Status} in {DurationMs} ms ({Region}, trace {TraceId})")]
    static partial void Served(ILogger log, string method, string route, int status, double durationMs, string region, string? traceId);
}
