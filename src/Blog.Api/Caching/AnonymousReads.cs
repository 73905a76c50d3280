using Blog.Api.Hosting;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Blog.Api.Caching;

/// <summary>
/// The edge cache, the counterpart of a CDN or Prisma Accelerate cache: anonymous reads of
/// articles, an article, comments, profiles and tags, answered from memory in the region that
/// receives them. Requests with an Authorization header are never answered from it nor
/// stored in it, so signed-in readers always get their own view. On with DIRECT_DATABASE_URL
/// (a listener makes it coherent across instances, <see cref="EdgeCache"/>), or with
/// CACHE_SECONDS alone (this instance's own writes only); CACHE_SECONDS=0 turns it off.
/// </summary>
internal static class EdgeCaching
{
    /// <summary>The largest answer kept; larger ones (thousands of comments) are served, not stored.</summary>
    const int MaximumBodyBytes = 1024 * 1024;

    public static IServiceCollection AddEdgeCache(this IServiceCollection services)
    {
        services.AddSingleton<EdgeCache>();
        services.AddSingleton<RegionPeers>();
        services.AddSingleton<Viewers>();
        services.AddOutputCache(options =>
        {
            options.MaximumBodySize = MaximumBodyBytes;
            options.UseCaseSensitivePaths = true;  // slugs are case-sensitive: /a-1 and /A-1 are two answers
        });
        services.Replace(ServiceDescriptor.Singleton<IOutputCacheStore>(services => services.GetRequiredService<EdgeCache>()));
        return services;
    }

    /// <summary>
    /// Caches anonymous reads of this endpoint, when the cache is on, varying only by the
    /// query parameters it reads (<paramref name="queryKeys"/>): others cannot fill the cache.
    /// </summary>
    public static RouteHandlerBuilder CachedForAnonymous(this RouteHandlerBuilder builder, params string[] queryKeys) =>
        builder.CacheOutput(new AnonymousReads(queryKeys));

    public static WebApplication UseEdgeCache(this WebApplication app)
    {
        if (app.Services.GetRequiredService<EdgeCache>().Enabled) app.UseOutputCache();
        return app;
    }

    static readonly KeyValuePair<string, object?> Anonymous = new("reader", "anonymous");

    /// <summary>The framework's default policy, with our coherence (<see cref="EdgeCache"/>) and keys.</summary>
    sealed class AnonymousReads(string[] queryKeys) : IOutputCachePolicy
    {
        public ValueTask CacheRequestAsync(OutputCacheContext context, CancellationToken cancellationToken)
        {
            var http = context.HttpContext;
            var cache = http.RequestServices.GetRequiredService<EdgeCache>();
            var cached = (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)) &&
                !http.Request.Headers.ContainsKey("Authorization") && cache.Serving();
            context.EnableOutputCaching = true;
            context.AllowCacheLookup = cached;
            context.AllowCacheStorage = cached;
            context.AllowLocking = cached;
            context.ResponseExpirationTimeSpan = cache.Lifetime;
            context.CacheVaryByRules.QueryKeys = queryKeys;
            if (cached) context.Tags.Add(cache.Since());
            else if (!http.Request.Headers.ContainsKey("Authorization")) Metrics.CacheLookups.Add(1, Anonymous, new KeyValuePair<string, object?>("result", "bypass"));  // signed-in reads count their own (Viewers)
            return default;
        }

        public ValueTask ServeFromCacheAsync(OutputCacheContext context, CancellationToken cancellationToken)
        {
            Metrics.CacheLookups.Add(1, Anonymous, new KeyValuePair<string, object?>("result", "hit"));
            return default;
        }

        public ValueTask ServeResponseAsync(OutputCacheContext context, CancellationToken cancellationToken)
        {
            if (context.AllowCacheLookup) Metrics.CacheLookups.Add(1, Anonymous, new KeyValuePair<string, object?>("result", "miss"));
            var response = context.HttpContext.Response;
            if (response.StatusCode != StatusCodes.Status200OK || response.Headers.ContainsKey("Set-Cookie")) context.AllowCacheStorage = false;
            return default;
        }
    }
}
