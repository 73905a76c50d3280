using Microsoft.AspNetCore.Http.Timeouts;

namespace Blog.Api.Http;

/// <summary>
/// Every request gets a few seconds, with the framework's request timeouts: past them its
/// database statements are cancelled (RequestCommands) and the client gets the API's 503 with
/// Retry-After, never a hang on a database that has gone silent. The slowest statement takes
/// a few milliseconds; connecting is bounded at 3 s on its own (Database).
/// </summary>
internal static class RequestDeadline
{
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    public static IServiceCollection AddRequestDeadline(this IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddRequestTimeouts(options => options.DefaultPolicy = new RequestTimeoutPolicy
        {
            Timeout = Limit,
            TimeoutStatusCode = StatusCodes.Status503ServiceUnavailable,
            WriteTimeoutResponse = context => ApiError.Unavailable.ExecuteAsync(context),
        });
        return services;
    }
}
