namespace Blog.Api.Profiles;

internal sealed record ProfileResponse(Profile Profile);
internal sealed record Profile(string Username, string? Bio, string? Image, bool Following);

internal sealed record ProfileRow(long Id, string Username, string? Bio, string? Image, bool Following)
{
    public Profile ToProfile(bool following) => new(Username, Bio, Image, following);

    /// <summary>About what the row takes in memory.</summary>
    public long Bytes => 120 + 2L * (Username.Length + (Bio?.Length ?? 0) + (Image?.Length ?? 0));
}

/// <summary>The user followed or unfollowed, and what the statement published when it changed anything.</summary>
internal sealed record FollowRow(long Id, string Username, string? Bio, string? Image, bool Self, string? Changes);
