using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json.Serialization;
using Blog.Api.Infrastructure;
using Blog.Api.Profiles;

namespace Blog.Api.Articles;

public sealed record ArticleResponse(Article Article);
public sealed record ArticlesResponse(IReadOnlyList<Article> Articles, long ArticlesCount);

public sealed record Article(
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

public sealed record NewArticleRequest([property: Required] NewArticle? Article);
public sealed record NewArticle(
    [property: Required, StringLength(Limits.Title)] string? Title,
    [property: Required, StringLength(Limits.Description)] string? Description,
    [property: Required, StringLength(Limits.Body)] string? Body,
    [property: Description("Tags in the author's order; trimmed, blanks and repeats dropped.")] string?[]? TagList = null);

public sealed record UpdateArticleRequest([property: Required] ArticleChanges? Article);
[Description("Any of the fields; absent ones stay as they are. A new title gives a new slug.")]
public sealed record ArticleChanges(
    [property: StringLength(Limits.Title)] OptionalString Title = default,
    [property: StringLength(Limits.Description)] OptionalString Description = default,
    [property: StringLength(Limits.Body)] OptionalString Body = default,
    [property: Description("Replaces the tags when given.")] string?[]? TagList = null);

/// <summary>
/// An article as the SQL statements return it: one flat row. Dapper.AOT reads non-nullable
/// columns without null checks, so statements never return placeholder rows of nulls. Two
/// columns serve only some statements: lists add <see cref="ArticlesCount"/> and
/// <see cref="OutsidePage"/>; an update the caller may not make returns the article as it
/// is with <see cref="Forbidden"/> set.
/// </summary>
sealed record ArticleRow(
    string Slug, string Title, string Description, string? Body, string[] TagList,
    DateTime CreatedAt, DateTime UpdatedAt, bool Favorited, long FavoritesCount,
    string AuthorUsername, string? AuthorBio, string? AuthorImage, bool AuthorFollowing,
    long ArticlesCount, bool OutsidePage, bool Forbidden)
{
    public Article ToArticle() => new(Slug, Title, Description, Body, TagList, CreatedAt, UpdatedAt, Favorited, FavoritesCount,
        new Profile(AuthorUsername, AuthorBio, AuthorImage, AuthorFollowing));
}

static class ArticleSql
{
    /// <summary>
    /// Tags travel as one text parameter, one tag per line (validation keeps control
    /// characters out of tags): Dapper.AOT hands array parameters to Dapper's reflection-based
    /// list expansion, which the AOT binary cannot run. Null means "no tags given".
    /// </summary>
    public const string Tags = "string_to_array(@tags, E'\\n')";

    public static string? TagsParameter(string[]? tags) => tags is null ? null : string.Join('\n', tags);

    /// <summary>
    /// The columns of an article <c>a</c> by author <c>u</c> as seen by user <c>@me</c> (null for
    /// anonymous callers), except body, favorited and favoritesCount, which statements vary.
    /// </summary>
    public const string Columns = """
        a.slug, a.title, a.description,
        ARRAY(SELECT t.name FROM article_tags at JOIN tags t ON t.id = at.tag_id
              WHERE at.article_id = a.id ORDER BY at.position) AS taglist,
        a.created_at AS createdat, a.updated_at AS updatedat,
        u.username AS authorusername, u.bio AS authorbio, u.image AS authorimage,
        EXISTS (SELECT 1 FROM follows fo WHERE fo.follower_id = @me AND fo.followee_id = u.id) AS authorfollowing
        """;

    public const string Favorites = """
        EXISTS (SELECT 1 FROM favorites f WHERE f.user_id = @me AND f.article_id = a.id) AS favorited,
        (SELECT count(*) FROM favorites f WHERE f.article_id = a.id) AS favoritescount
        """;

    /// <summary>
    /// Upserts the tags in <c>@tags</c> for the article written by CTE <c>a</c> (none when it
    /// wrote nothing) and returns their ids. DO UPDATE rather than DO NOTHING: it returns the
    /// row also when a concurrent request inserted the same new tag a moment ago, where DO
    /// NOTHING would return nothing and the tag would be silently lost. It locks the rows, in
    /// name order, so concurrent writers with overlapping tags queue instead of deadlocking.
    /// </summary>
    public const string UpsertTags = $"""
        INSERT INTO tags (name)
        SELECT name FROM unnest({Tags}) AS name WHERE EXISTS (SELECT 1 FROM a) ORDER BY name
        ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
        RETURNING id, name
        """;
}

public static class Slugs
{
    const int MaxBaseLength = 100;

    /// <summary>
    /// The readable part of a slug: lower-case ASCII letters and digits joined by '-', with
    /// Latin accents folded ("Ça marche" → "ca-marche"). Titles with no such letters (e.g. all
    /// CJK) give "article". The create statement appends the article id to make it unique.
    /// </summary>
    public static string BaseFor(string title)
    {
        var slug = new StringBuilder(Math.Min(title.Length, MaxBaseLength));
        var dash = false;
        foreach (var c in title)
        {
            var folded = Fold(char.ToLowerInvariant(c));
            if (folded is null)
            {
                dash = slug.Length > 0;
                continue;
            }
            if (dash) slug.Append('-');
            dash = false;
            slug.Append(folded);
            if (slug.Length >= MaxBaseLength) break;
        }
        return slug.Length == 0 ? "article" : slug.ToString();
    }

    // U+00C0–U+017F (Latin-1 Supplement, Latin Extended-A) folded to ASCII by hand: the binary
    // runs with InvariantGlobalization, where string.Normalize does not take "é" apart.
    const string Latin =
        "aaaaaa ceeeeiiiidnooooo ouuuuy  aaaaaa ceeeeiiiidnooooo ouuuuy y" +
        "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii  jjkkklllllll" +
        "lllnnnnnnnnnoooooo  rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

    /// <summary>The ASCII letters for a lower-case character, or null for a separator.</summary>
    static string? Fold(char c) => c switch
    {
        _ when char.IsAsciiLetterOrDigit(c) => c.ToString(),
        'ß' => "ss", 'æ' => "ae", 'œ' => "oe", 'þ' => "th", 'ĳ' => "ij",
        >= '\u00C0' and <= '\u017F' when Latin[c - '\u00C0'] != ' ' => Latin[c - '\u00C0'].ToString(),
        _ => null,
    };
}
