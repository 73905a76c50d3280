using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;
using Npgsql;

namespace Blog.Api.Tags;

public sealed record TagsResponse(IReadOnlyList<string> Tags);

public static class TagEndpoints
{
    public static void MapTags(this IEndpointRouteBuilder app) =>
        app.MapGet("/api/tags", List).WithTags("Tags").WithName("ListTags").WithSummary("Tags in use, most used first");

    static async Task<Ok<TagsResponse>> List(NpgsqlDataSource db)
    {
        await using var connection = db.CreateConnection();
        var tags = await connection.QueryAsync<string>("""
            SELECT t.name
            FROM article_tags at JOIN tags t ON t.id = at.tag_id
            GROUP BY t.id
            ORDER BY count(*) DESC, t.name
            """);
        return TypedResults.Ok(new TagsResponse([.. tags]));
    }
}
