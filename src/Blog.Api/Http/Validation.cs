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

    public bool Username(string field, string? value)
    {
        if (!Required(field, value, Limits.Username)) return false;
        if (IsUsername(value!)) return true;
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
    /// tag and their number. Returns the clean list, or null when it failed.
    /// </summary>
    public string[]? Tags(string field, string?[]? tags)
    {
        if (tags is null) return [];
        var clean = new List<string>(tags.Length);
        foreach (var raw in tags)
        {
            var tag = raw?.Trim();
            if (string.IsNullOrEmpty(tag) || clean.Contains(tag, StringComparer.Ordinal)) continue;
            if (!Optional(field, tag, Limits.Tag)) return null;
            if (tag.Any(char.IsControl))  // a tag is a word or two, never a line break or a tab
            {
                Add(field, "is invalid");
                return null;
            }
            clean.Add(tag);
        }
        if (clean.Count <= Limits.Tags) return [.. clean];
        Add(field, $"is too long (maximum is {Limits.Tags} tags)");
        return null;
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
