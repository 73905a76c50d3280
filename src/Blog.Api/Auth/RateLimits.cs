using System.Globalization;
using System.Threading.RateLimiting;
using Blog.Api.Hosting;
using Blog.Api.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Blog.Api.Auth;

/// <summary>
/// Sign-up and sign-in are limited per client address (AUTH_RATE_LIMIT a minute), with the
/// framework's rate limiter: password guessing and account spraying get 429 and Retry-After.
/// </summary>
internal static class RateLimits
{
    public const string SignIn = "sign-in";

    public static IServiceCollection AddRateLimits(this IServiceCollection services)
    {
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<Settings>((limiter, settings) =>
        {
            limiter.OnRejected = (context, _) =>
            {
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 60;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(ApiError.Of(StatusCodes.Status429TooManyRequests, "requests", $"too many, try again in {seconds} seconds").ExecuteAsync(context.HttpContext));
            };
            limiter.AddPolicy(SignIn, http => RateLimitPartition.GetFixedWindowLimiter(ClientAddress(http, settings), _ => new FixedWindowRateLimiterOptions
            {
                PermitLimit = settings.SignInsPerMinute,
                Window = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
            }));
        });
        return services;
    }

    public static RouteHandlerBuilder LimitedPerClient(this RouteHandlerBuilder builder) =>
        builder.RequireRateLimiting(SignIn).ProducesErrors(StatusCodes.Status429TooManyRequests);

    static string ClientAddress(HttpContext http, Settings settings) =>
        settings.TrustFlyClientIp && http.Request.Headers["Fly-Client-IP"] is [{ Length: > 0 } flyClient]
            ? flyClient
            : http.Connection.RemoteIpAddress?.ToString() ?? "unknown";
}
