using System.ComponentModel.DataAnnotations;
using Blog.Api.Http;
using Blog.Api.Profiles;

namespace Blog.Api.Comments;

internal sealed record CommentResponse(Comment Comment);
internal sealed record CommentsResponse(IAsyncEnumerable<Comment> Comments);
internal sealed record Comment(long Id, DateTime CreatedAt, DateTime UpdatedAt, string Body, Profile Author);

internal sealed record NewCommentRequest([property: Required] NewComment? Comment);
internal sealed record NewComment([property: Required, StringLength(Limits.Comment)] string? Body);

internal sealed record CommentRow(long Id, DateTime CreatedAt, DateTime UpdatedAt, string Body,
    string AuthorUsername, string? AuthorBio, string? AuthorImage, bool AuthorFollowing)
{
    public Comment ToComment() => new(Id, CreatedAt, UpdatedAt, Body, new Profile(AuthorUsername, AuthorBio, AuthorImage, AuthorFollowing));
}

internal sealed record DeleteOutcome(bool ArticleExists, bool? Mine);
