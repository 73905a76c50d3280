namespace Blog.Api.Tags;

internal sealed record TagsResponse(IAsyncEnumerable<string> Tags);
