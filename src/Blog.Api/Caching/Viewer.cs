namespace Blog.Api.Caching;

/// <summary>
/// What a signed-in user's answers show of them alone, as this instance last loaded it: the
/// version and the kept session of their credentials (is their token still good?), whom they
/// follow, what they favorited (sorted ids). A cached anonymous answer with these laid over it
/// is their answer (Viewers). Changes name the viewer on the change feed (v&lt;id&gt;, migration
/// 0013), and every instance evicts the entry.
/// </summary>
internal sealed class Viewer
{
    /// <summary>
    /// The most follows or favorites kept; a user with more is answered from the database. A
    /// front end shows 20 articles a page, and the sets are looked up, not listed: 500 of each
    /// is 8 KB at most, and the byte bound of the store (Viewers) holds thousands of readers.
    /// </summary>
    public const int MaxIds = 500;

    /// <summary>A user with more than <see cref="MaxIds"/> follows or favorites: answered from the database.</summary>
    public static readonly Viewer TooMany = new(0, null, [], []);

    /// <summary>A user who no longer exists: their tokens open nothing.</summary>
    public static readonly Viewer Gone = new(-1, null, [], []);

    readonly long[] follows, favorites;

    public Viewer(int tokenVersion, string? keptSession, long[] follows, long[] favorites)
    {
        TokenVersion = tokenVersion;
        KeptSession = keptSession;
        (this.follows, this.favorites) = (follows, favorites);
    }

    /// <summary>Whether this is <see cref="TooMany"/> or <see cref="Gone"/>, not a reader's state.</summary>
    public bool IsMarker => ReferenceEquals(this, TooMany) || ReferenceEquals(this, Gone);

    /// <summary>When this viewer's state was loaded (ticks); their own writes since are laid over it.</summary>
    public long LoadedAt { get; private init; } = Environment.TickCount64;

    public int TokenVersion { get; }
    public string? KeptSession { get; }

    /// <summary>Whether a token of that version and session is still good (CurrentUser.TokenValid, in C#).</summary>
    public bool Accepts(int version, string? session) =>
        !ReferenceEquals(this, Gone) && (version == TokenVersion || session is not null && session == KeptSession);

    public bool Follows(long userId) => Array.BinarySearch(follows, userId) >= 0;

    public bool Favorited(long articleId) => Array.BinarySearch(favorites, articleId) >= 0;

    /// <summary>About what it takes in memory.</summary>
    public long Bytes => 120 + 8L * (follows.Length + favorites.Length) + 2L * (KeptSession?.Length ?? 0);

    /// <summary>This viewer after their own follow or unfollow of <paramref name="userId"/>.</summary>
    public Viewer WithFollow(long userId, bool following) => new(TokenVersion, KeptSession, With(follows, userId, following), favorites) { LoadedAt = LoadedAt };

    /// <summary>This viewer after their own favorite or unfavorite of <paramref name="articleId"/>.</summary>
    public Viewer WithFavorite(long articleId, bool favorited) => new(TokenVersion, KeptSession, follows, With(favorites, articleId, favorited)) { LoadedAt = LoadedAt };

    static long[] With(long[] sorted, long id, bool present)
    {
        var at = Array.BinarySearch(sorted, id);
        if (at >= 0 == present) return sorted;
        var list = new List<long>(sorted);
        if (present) list.Insert(~at, id);
        else list.RemoveAt(at);
        return [.. list];
    }

    /// <summary>A loaded viewer: too many ids falls back to the database.</summary>
    public static Viewer From(int tokenVersion, string? keptSession, long[] follows, long[] favorites)
    {
        if (follows.Length > MaxIds || favorites.Length > MaxIds) return TooMany;
        Array.Sort(follows);
        Array.Sort(favorites);
        return new Viewer(tokenVersion, keptSession, follows, favorites);
    }
}
