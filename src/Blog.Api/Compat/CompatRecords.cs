using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Blog.Api.Docs;
using Blog.Api.Http;

namespace Blog.Api.Compat;

internal sealed record SignupRequest(
    [property: Required, StringLength(Limits.Email), EmailAddress] string? Email,
    [property: Required, StringLength(Limits.PasswordMax, MinimumLength = Limits.PasswordMin)] string? Password,
    [property: StringLength(Limits.Name), Description("Display name; the username is derived from it (or from the email).")] string? Name = null);
internal sealed record SigninRequest([property: Required] string? Email, [property: Required] string? Password);
internal sealed record JwtResponse(string Jwt);

internal sealed record CreateBlogRequest(
    [property: Required, StringLength(Limits.Title)] string? Title,
    [property: Required, StringLength(Limits.Body)] string? Content);
internal sealed record UpdateBlogRequest(
    [property: Required, SchemaFormat("uuid"), Description("The blog's id, as create answered it.")] string? Id,
    [property: StringLength(Limits.Title)] OptionalString Title = default,
    [property: StringLength(Limits.Body)] OptionalString Content = default)
{
    public bool ChangesNothing() => !Title.IsSet && !Content.IsSet;
}

internal sealed record BlogIdResponse(Guid Id);
internal sealed record BlogWritten(Guid Id, string? Changes);
internal sealed record BlogResponse(BlogPost Blog);
internal sealed record BlogsResponse(IAsyncEnumerable<BlogPost> Blogs);
internal sealed record BlogPost(Guid Id, string Title, string Content, BlogAuthor Author);
internal sealed record BlogAuthor(string Name);

internal sealed record BlogRow(Guid Id, string Title, string Content, string AuthorName)
{
    public BlogPost ToBlog() => new(Id, Title, Content, new BlogAuthor(AuthorName));
}
