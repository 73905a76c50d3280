using Blog.Api.Caching;
using Blog.Api.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Blog.Api.Tests.Caching;

/// <summary>The edge cache's store on its own: tags, the race with a change, the memory cap, the defaults.</summary>
public sealed class EdgeCacheStoreTests
{
    sealed class Production : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Production";
        public string ApplicationName { get; set; } = "Blog.Api";
        public string ContentRootPath { get; set; } = "/";
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    static Settings SettingsWith(params (string Name, string Value)[] values)
    {
        var config = new Dictionary<string, string?> { ["DATABASE_URL"] = "postgres://u@h/db", ["JWT_SECRET"] = new string('s', 40) };
        foreach (var (name, value) in values) config[name] = value;
        return Settings.From(new ConfigurationBuilder().AddInMemoryCollection(config).Build(), new Production());
    }

    static EdgeCache Cache(params (string Name, string Value)[] values) => new(SettingsWith([("CACHE_SECONDS", "60"), .. values]), NullLogger<ChangeListener>.Instance);

    static async Task<bool> Holds(EdgeCache cache, string key) => await cache.GetAsync(key, default) is not null;

    [Fact]
    public async Task An_answer_read_before_a_change_it_shows_is_not_stored()
    {
        var cache = Cache();
        var since = cache.Since();
        cache.Evict("""["a1"]""");  // a write lands while two answers are being read

        await cache.SetAsync("shows a1", [1], [since, "a1", "l"], TimeSpan.FromMinutes(1), default);
        await cache.SetAsync("shows a2", [2], [since, "a2", "l"], TimeSpan.FromMinutes(1), default);

        Assert.False(await Holds(cache, "shows a1"));
        Assert.True(await Holds(cache, "shows a2"));
    }

    [Fact]
    public async Task A_change_evicts_the_answers_that_show_it_and_only_those()
    {
        var cache = Cache();
        await cache.SetAsync("list", [1], [cache.Since(), "l", "a1", "a2"], TimeSpan.FromMinutes(1), default);
        await cache.SetAsync("article 1", [1], [cache.Since(), "a1", "u7"], TimeSpan.FromMinutes(1), default);
        await cache.SetAsync("article 2", [1], [cache.Since(), "a2", "u8"], TimeSpan.FromMinutes(1), default);
        // The same key stored again with other tags: the new tags evict it, the old ones no longer do.
        await cache.SetAsync("comments", [1], [cache.Since(), "c1", "u7"], TimeSpan.FromMinutes(1), default);
        await cache.SetAsync("comments", [2], [cache.Since(), "c2"], TimeSpan.FromMinutes(1), default);

        cache.Evict("""["u7"]""");
        Assert.False(await Holds(cache, "article 1"));
        Assert.True(await Holds(cache, "list"));
        Assert.True(await Holds(cache, "article 2"));
        Assert.True(await Holds(cache, "comments"));

        cache.Evict("""["c2"]""");
        Assert.False(await Holds(cache, "comments"));
        Assert.True(await Holds(cache, "list"));

        cache.Evict("""["*"]""");
        Assert.False(await Holds(cache, "list"));
        Assert.False(await Holds(cache, "article 2"));
    }

    [Fact]
    public async Task The_cache_holds_at_most_its_cap()
    {
        var cache = Cache(("CACHE_MAX_MB", "1"));
        var answer = new byte[100 * 1024];
        for (var i = 0; i < 40; i++) await cache.SetAsync($"page {i}", answer, [cache.Since(), "l"], TimeSpan.FromMinutes(1), default);

        var held = 0;
        for (var i = 0; i < 40; i++) held += await Holds(cache, $"page {i}") ? 1 : 0;
        Assert.InRange(held, 1, 10);  // 1 MB of 100 KB answers
    }

    [Fact]
    public void The_cache_is_on_with_a_listener_and_off_without_unless_asked()
    {
        Assert.Equal(0, SettingsWith().CacheSeconds);
        Assert.Equal(60, SettingsWith(("DIRECT_DATABASE_URL", "postgres://u@h/db")).CacheSeconds);
        Assert.Equal(0, SettingsWith(("DIRECT_DATABASE_URL", "postgres://u@h/db"), ("CACHE_SECONDS", "0")).CacheSeconds);
        Assert.Equal(5, SettingsWith(("CACHE_SECONDS", "5")).CacheSeconds);
        Assert.False(new EdgeCache(SettingsWith(("DIRECT_DATABASE_URL", "postgres://u@h/db"), ("CACHE_SECONDS", "0")), NullLogger<ChangeListener>.Instance).Enabled);
    }
}
