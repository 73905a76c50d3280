using System.ComponentModel.DataAnnotations;
using Blog.Api.Http;
using Blog.Api.Profiles;

namespace Blog.Api.Comments;

internal sealed record CommentResponse(Comment Comment);
internal sealed record CommentsResponse(IAsyncEnumerable<Comment> Comments);
internal sealed record Comment(long Id, DateTime CreatedAt, DateTime UpdatedAt, string Body, Profile Author);

internal sealed record NewCommentRequest([property: Required] NewComment? Comment);
internal sealed record NewComment([property: Required, StringLength(Limits.Comment)] string? Body);

/// <summary>A comment as statements return it; the ids name it to the edge cache, and a write answers what it published.</summary>
internal sealed record CommentRow(long Id, DateTime CreatedAt, DateTime UpdatedAt, string Body,
    string AuthorUsername, string? AuthorBio, string? AuthorImage, bool AuthorFollowing,
    long ArticleId, long AuthorId, string? Changes)
{
    public Comment ToComment() => new(Id, CreatedAt, UpdatedAt, Body, new Profile(AuthorUsername, AuthorBio, AuthorImage, AuthorFollowing));

    /// <summary>The row as every reader shares it: no reader's flag.</summary>
    public CommentRow Shared() => this with { AuthorFollowing = false };

    /// <summary>The shared row as <paramref name="viewer"/> sees it.</summary>
    public CommentRow For(Caching.Viewer viewer) => this with { AuthorFollowing = viewer.Follows(AuthorId) };

    /// <summary>About what the row takes in memory.</summary>
    public long Bytes => 150 + 2L * (Body.Length + AuthorUsername.Length + (AuthorBio?.Length ?? 0) + (AuthorImage?.Length ?? 0));
}

internal sealed record DeleteOutcome(bool ArticleExists, bool? Mine, string? Changes);
