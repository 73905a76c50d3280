using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;
using Blog.Api.Caching;
using Blog.Api.Docs;
using Blog.Api.Http;
using Blog.Api.Profiles;

namespace Blog.Api.Articles;

internal sealed record ArticleResponse(Article Article);
internal sealed record ArticlesResponse(IReadOnlyList<Article> Articles, long ArticlesCount);

internal sealed record Article(
    string Slug,
    string Title,
    string Description,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull), Description("Left out in lists; GET /api/articles/{slug} has it.")] string? Body,
    string[] TagList,
    DateTime CreatedAt,
    DateTime UpdatedAt,
    bool Favorited,
    long FavoritesCount,
    Profile Author);

internal sealed record NewArticleRequest([property: Required] NewArticle? Article);
internal sealed record NewArticle(
    [property: Required, StringLength(Limits.Title)] string? Title,
    [property: Required, StringLength(Limits.Description)] string? Description,
    [property: Required, StringLength(Limits.Body)] string? Body,
    [property: TextList(Limits.Tags, Limits.Tag), JsonConverter(typeof(TagListConverter)), Description("Tags; trimmed, blanks and repeats dropped. Answers list them alphabetically.")] string?[]? TagList = null);

internal sealed record UpdateArticleRequest([property: Required] ArticleChanges? Article);
[Description("Any of the fields; absent ones stay as they are. A new title gives a new slug.")]
internal sealed record ArticleChanges(
    [property: StringLength(Limits.Title)] OptionalString Title = default,
    [property: StringLength(Limits.Description)] OptionalString Description = default,
    [property: StringLength(Limits.Body)] OptionalString Body = default,
    [property: TextList(Limits.Tags, Limits.Tag), JsonConverter(typeof(TagListConverter)), Description("Replaces the tags when given.")] string?[]? TagList = null)
{
    public bool ChangesNothing() => !Title.IsSet && !Description.IsSet && !Body.IsSet && TagList is null;
}

/// <summary>
/// An article as the SQL statements return it: one flat row. Dapper.AOT reads non-nullable
/// columns without null checks, so statements never return placeholder rows of nulls. Some
/// columns serve only some statements: lists add <see cref="ArticlesCount"/> and
/// <see cref="OutsidePage"/>; an update the caller may not make returns the article as it
/// is with <see cref="Forbidden"/> set, and one that replaces the tags answers them in
/// <see cref="NewTagList"/>. <see cref="Id"/> and <see cref="AuthorId"/> name it to the edge
/// cache, and a write answers in <see cref="Changes"/> what it published (migration 0007).
/// </summary>
internal sealed record ArticleRow(
    string Slug, string Title, string Description, string? Body, string[] TagList,
    DateTime CreatedAt, DateTime UpdatedAt, bool Favorited, long FavoritesCount,
    string AuthorUsername, string? AuthorBio, string? AuthorImage, bool AuthorFollowing,
    long ArticlesCount, bool OutsidePage, bool Forbidden, string[]? NewTagList,
    long Id, long AuthorId, string? Changes)
{
    public Article ToArticle() => new(Slug, Title, Description, Body, TagList, CreatedAt, UpdatedAt, Favorited, FavoritesCount,
        new Profile(AuthorUsername, AuthorBio, AuthorImage, AuthorFollowing));

    /// <summary>Tags the cacheable answer of <paramref name="http"/> with this article and its author.</summary>
    public void ShownIn(HttpContext http)
    {
        if (!EdgeCache.Stores(http)) return;  // the tags' strings only for an answer that is stored
        EdgeCache.Shows(http, CacheTags.Article(Id));
        EdgeCache.Shows(http, CacheTags.Author(AuthorId));
    }

    /// <summary>The tags of what this row shows, for a shared answer kept for signed-in readers.</summary>
    public void ShownIn(List<string?> tags)
    {
        tags.Add(CacheTags.Article(Id));
        tags.Add(CacheTags.Author(AuthorId));
    }

    /// <summary>The row as every reader shares it: no reader's flags.</summary>
    public ArticleRow Shared() => this with { Favorited = false, AuthorFollowing = false };

    /// <summary>The shared row as <paramref name="viewer"/> sees it.</summary>
    public ArticleRow For(Caching.Viewer viewer) => this with { Favorited = viewer.Favorited(Id), AuthorFollowing = viewer.Follows(AuthorId) };

    /// <summary>About what the row takes in memory.</summary>
    public long Bytes => 250 + 2L * (Slug.Length + Title.Length + Description.Length + (Body?.Length ?? 0) + AuthorUsername.Length
        + (AuthorBio?.Length ?? 0) + (AuthorImage?.Length ?? 0) + TagList.Sum(tag => tag.Length + 12));
}

/// <summary>
/// What a write of one article (or blog) answers: whether <c>@me</c> may make it (no row: no
/// such article), and what it published for the edge cache (null: it changed nothing).
/// </summary>
internal sealed record WriteOutcome(bool Mine, string? Changes);
