using Blog.Api.Data;
using Blog.Api.Caching;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Blog.Api.Tags;

internal static class TagEndpoints
{
    public static void MapTags(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/tags", List).WithTags("Tags").WithName("ListTags").CachedForAnonymous().WithSummary("Tags in use, most used first");

    static async Task<Ok<TagsResponse>> List(Db db, HttpContext http)
    {
        EdgeCache.Shows(http, CacheTags.TagList);
        var connection = db.Read();
        // uses is kept by triggers (migration 0003). Written as read (Streaming): every tag in use.
        var tags = await Streaming.StartAsync(http, connection, connection.QueryUnbufferedAsync<string>("SELECT name FROM tags WHERE uses > 0 ORDER BY uses DESC, name"));
        return TypedResults.Ok(new TagsResponse(tags ?? AsyncEnumerable.Empty<string>()));
    }
}
