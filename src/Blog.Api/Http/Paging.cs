namespace Blog.Api.Http;

/// <summary><c>limit</c> (1–100, default 20) and <c>offset</c> (0–10,000, default 0) from the query string.</summary>
internal readonly record struct Paging(int Limit, int Offset)
{
    public static Paging From(Validation check, string? limit, string? offset) => new(
        Parse(check, "limit", limit, Limits.DefaultPageSize, min: 1, max: Limits.PageSize),
        Parse(check, "offset", offset, 0, min: 0, max: Limits.Offset));

    static int Parse(Validation check, string field, string? text, int fallback, int min, int max)
    {
        if (string.IsNullOrEmpty(text)) return fallback;
        if (!long.TryParse(text, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            check.Add(field, "is not a number");
            return fallback;
        }
        if (value < min) check.Add(field, $"must be greater than or equal to {min}");
        else if (value > max) check.Add(field, $"must be less than or equal to {max}");
        else return (int)value;
        return fallback;
    }
}
