namespace Blog.Api.Caching;

/// <summary>
/// The names of what a cached answer shows, added to it by the endpoint that answers. Writes
/// name what they changed with the same tags, in SQL (the publish_… functions of migration
/// 0007, which lists them all); the two sides must agree, and the cache tests check that they do.
/// </summary>
internal static class CacheTags
{
    /// <summary>Every page of the unfiltered list.</summary>
    public const string AllArticles = "l";

    /// <summary>The tag list.</summary>
    public const string TagList = "t";

    /// <summary>Every list filtered by a user's favorites (an article that goes away leaves them all).</summary>
    public const string AnyFavorites = "lf";

    /// <summary>Sent instead of a payload too long for one notification: drop everything.</summary>
    public const string Everything = "*";

    public static string Article(long id) => "a" + id;

    /// <summary>A signed-in reader's viewer entry: their token, follows and favorites (migration 0013).</summary>
    public static string Viewer(long userId) => "v" + userId;

    /// <summary>The user a viewer tag names, or null for any other tag.</summary>
    public static long? ViewerId(string tag) =>
        tag.Length > 1 && tag[0] == 'v' && long.TryParse(tag.AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) ? id : null;
    public static string Comments(long articleId) => "c" + articleId;
    public static string Author(long userId) => "u" + userId;
    public static string Tagged(string tag) => "lt:" + tag;
    public static string? ByAuthor(string username) => Name(username) is { } name ? "la:" + name : null;
    public static string? FavoritedBy(string username) => Name(username) is { } name ? "lf:" + name : null;

    /// <summary>
    /// A username as tags name it, the same as SQL's cache_name(username): lower-case when it
    /// is printable ASCII. The lookups this stands for compare lower(normalize(name, NFKC)),
    /// which C# can compute exactly as the database does only for ASCII (the service runs
    /// without ICU). Null for anything else: the answer is then not stored.
    /// </summary>
    public static string? Name(string username)
    {
        foreach (var c in username)
        {
            if (c is < ' ' or > '~') return null;
        }
        return username.ToLowerInvariant();
    }
}
