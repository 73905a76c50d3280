using System.Globalization;
using System.Threading.RateLimiting;
using Blog.Api.Hosting;
using Blog.Api.Http;
using Microsoft.AspNetCore.RateLimiting;

namespace Blog.Api.Auth;

/// <summary>
/// The first, per-instance line of SignInLimits: the framework's rate limiter allows a client
/// network AUTH_RATE_LIMIT sign-ups and sign-ins a minute on this instance, answering 429
/// before a request costs a password hash. The limits all instances share are counted by the
/// statements themselves (SignInLimits), so a client reaching several instances gets no more.
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
                Metrics.RateLimited.Add(1, new KeyValuePair<string, object?>("limit", "per_instance"));
                var seconds = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)) : 60;
                context.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                return new ValueTask(ApiError.Of(StatusCodes.Status429TooManyRequests, "requests", $"too many, try again in {seconds} seconds").ExecuteAsync(context.HttpContext));
            };
            limiter.AddPolicy(SignIn, http => RateLimitPartition.GetFixedWindowLimiter(http.RequestServices.GetRequiredService<SignInLimits>().NetworkKey(http), _ => new FixedWindowRateLimiterOptions
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

}
