namespace Blog.Api.Profiles;

internal sealed record ProfileResponse(Profile Profile);
internal sealed record Profile(string Username, string? Bio, string? Image, bool Following);

internal sealed record ProfileRow(long Id, string Username, string? Bio, string? Image, bool Following);
internal sealed record FollowRow(string Username, string? Bio, string? Image, bool Self);
