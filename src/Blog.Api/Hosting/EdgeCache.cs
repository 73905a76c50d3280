using Microsoft.AspNetCore.OutputCaching;

namespace Blog.Api.Hosting;

/// <summary>
/// Opt-in (CACHE_SECONDS) output caching of anonymous reads on this instance, the counterpart
/// of a CDN or Prisma Accelerate cache. The framework's policy never caches, nor answers from
/// the cache, a request that carries an Authorization header, so signed-in readers always get
/// their own view. Any successful write that can change what anonymous readers see evicts it.
/// </summary>
internal static class EdgeCache
{
    public const string Policy = "anonymous-reads";
    const string Tag = "content";

    public static IServiceCollection AddEdgeCache(this IServiceCollection services)
    {
        services.AddOutputCache();
        services.AddOptions<OutputCacheOptions>().Configure<Settings>((cache, settings) =>
            cache.AddPolicy(Policy, policy => policy.Expire(TimeSpan.FromSeconds(Math.Max(settings.CacheSeconds, 1))).SetVaryByQuery("*").Tag(Tag)));
        return services;
    }

    /// <summary>Caches anonymous reads of this endpoint, when the cache is on.</summary>
    public static RouteHandlerBuilder CachedForAnonymous(this RouteHandlerBuilder builder) => builder.CacheOutput(Policy);

    public static WebApplication UseEdgeCache(this WebApplication app, Settings settings)
    {
        if (settings.CacheSeconds <= 0) return app;
        app.UseOutputCache();
        app.Use(async (context, next) =>
        {
            await next(context);
            if (ChangesContent(context.Request) && context.Response.StatusCode is >= 200 and < 300)
            {
                await context.RequestServices.GetRequiredService<IOutputCacheStore>().EvictByTagAsync(Tag, CancellationToken.None);
            }
        });
        return app;
    }

    // Articles, comments, favorites and tags live under these paths; a profile edit changes
    // the author shown on articles. Follows do not change anonymous views.
    static bool ChangesContent(HttpRequest request) =>
        !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method) && !HttpMethods.IsOptions(request.Method) &&
        (request.Path.StartsWithSegments("/api/articles") || request.Path.StartsWithSegments("/api/v1/blog") ||
         (request.Path.StartsWithSegments("/api/user") && HttpMethods.IsPut(request.Method)));
}
