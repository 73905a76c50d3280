namespace Blog.Api.Http;

/// <summary>
/// Collects 422 errors for one request, keyed by field, with the RealWorld suite's messages.
/// Each check returns whether the value passed so callers can chain format checks.
/// </summary>
internal sealed class Validation
{
    Dictionary<string, string[]>? errors;

    public bool Failed => errors is not null;
    public ApiError Error => new(StatusCodes.Status422UnprocessableEntity, errors ?? throw new InvalidOperationException("No errors."));

    public void Add(string field, string message) => (errors ??= [])[field] = [message];

    /// <summary>Required text: not null, not blank, well-formed and at most <paramref name="max"/> characters.</summary>
    public bool Required(string field, string? value, int max)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "can't be blank");
            return false;
        }
        return Optional(field, value, max);
    }

    /// <summary>Optional text: null passes; otherwise well-formed and within the limit.</summary>
    public bool Optional(string field, string? value, int max)
    {
        if (value is null) return true;
        if (!IsStorable(value))
        {
            Add(field, "is invalid");
            return false;
        }
        if (Length(value) > max)
        {
            Add(field, $"is too long (maximum is {max} characters)");
            return false;
        }
        return true;
    }

    public bool Email(string field, string? value)
    {
        if (!Required(field, value, Limits.Email)) return false;
        if (IsEmail(value!)) return true;
        Add(field, "is invalid");
        return false;
    }

    /// <summary>
    /// Letters, digits, '_', '-' and '.', with the letters of one script (Scripts), so a name
    /// cannot pass for another. Stored in Unicode NFKC form, which PostgreSQL computes
    /// (normalize(); .NET's invariant globalization cannot), and unique in it, case aside.
    /// </summary>
    public bool Username(string field, string? value)
    {
        if (!Required(field, value, Limits.Username)) return false;
        if (IsUsername(value!) && Scripts.IsSingleScript(value!)) return true;
        Add(field, "is invalid");
        return false;
    }

    public bool Password(string field, string? value)
    {
        if (!Required(field, value, Limits.PasswordMax)) return false;
        if (Length(value!) >= Limits.PasswordMin) return true;
        Add(field, $"is too short (minimum is {Limits.PasswordMin} characters)");
        return false;
    }

    /// <summary>An optional absolute http(s) URL; empty means "none".</summary>
    public bool ImageUrl(string field, string? value)
    {
        if (string.IsNullOrEmpty(value)) return true;
        if (!Optional(field, value, Limits.Image)) return false;
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)) return true;
        Add(field, "is invalid");
        return false;
    }

    /// <summary>
    /// Trims tags, drops blanks and repeats (keeping the author's order), and checks each
    /// tag and their number. Returns the clean list, or null when it failed. Linear in the
    /// input and done at the first tag too many: a 1 MiB body holds 110,000 tags.
    /// </summary>
    public string[]? Tags(string field, string?[]? tags)
    {
        if (tags is null) return [];
        var clean = new List<string>(Math.Min(tags.Length, Limits.Tags));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var raw in tags)
        {
            var tag = raw?.Trim();
            if (string.IsNullOrEmpty(tag) || seen.Contains(tag)) continue;
            if (clean.Count == Limits.Tags)
            {
                Add(field, $"is too long (maximum is {Limits.Tags} tags)");
                return null;
            }
            if (!Optional(field, tag, Limits.Tag)) return null;
            if (HasInvisibleControl(tag))  // a tag is a word or two, never a line break, a tab or a direction override
            {
                Add(field, "is invalid");
                return null;
            }
            seen.Add(tag);
            clean.Add(tag);
        }
        return [.. clean];
    }

    /// <summary>
    /// Control and format characters (line breaks, tabs, zero-width and direction overrides
    /// such as U+202E) and line or paragraph separators: invisible, or able to make a name
    /// display as another. Never in a name or a tag.
    /// </summary>
    public static bool HasInvisibleControl(string value)
    {
        foreach (var c in value)
        {
            if (char.GetUnicodeCategory(c) is System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format
                or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Null for a missing, empty or blank value (which clears an optional field).</summary>
    public static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    /// <summary>Postgres text cannot hold NUL, and lone surrogates cannot be encoded as UTF-8.</summary>
    public static bool IsStorable(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c == '\0') return false;
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) i++;
            else if (char.IsSurrogate(c)) return false;
        }
        return true;
    }

    /// <summary>Length in code points, the way Postgres' char_length counts.</summary>
    public static int Length(string value)
    {
        var length = value.Length;
        foreach (var c in value)
        {
            if (char.IsLowSurrogate(c)) length--;
        }
        return length;
    }

    static bool IsEmail(string value)
    {
        var at = value.IndexOf('@');
        if (at <= 0 || at != value.LastIndexOf('@')) return false;
        var domain = value.AsSpan(at + 1);
        var dot = domain.LastIndexOf('.');
        if (dot <= 0 || dot == domain.Length - 1) return false;
        foreach (var c in value)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c)) return false;
        }
        return true;
    }

    /// <summary>Usernames appear in URLs (/profiles/{username}): letters, digits, '_', '-', '.'.</summary>
    static bool IsUsername(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsLetterOrDigit(c) && c is not ('_' or '-' or '.')) return false;
        }
        return true;
    }
}
