namespace Blog.Api.Tags;

internal sealed record TagsResponse(IReadOnlyList<string> Tags);
