namespace Blog.Api.Http;

/// <summary>
/// Field limits, in characters (Unicode code points, as Postgres counts them). Validation,
/// the OpenAPI document and the CHECK constraints of the schema all say the same numbers.
/// </summary>
internal static class Limits
{
    public const int Username = 50;
    public const int Email = 254;
    public const int PasswordMin = 8;      // NIST 800-63B: at least 8, accept at least 64,
    public const int PasswordMax = 256;    // no composition rules
    public const int Name = 100;
    public const int Bio = 2000;
    public const int Image = 2048;
    public const int Title = 200;
    public const int Description = 500;
    public const int Body = 100_000;
    public const int Tag = 50;
    public const int Tags = 20;
    public const int Comment = 10_000;
    public const int PageSize = 100;
    public const int DefaultPageSize = 20;

    /// <summary>
    /// The deepest offset a list accepts: a page that deep is an index walk of this many rows
    /// (10,000 is what Elasticsearch allows, max_result_window), and no reader pages that far.
    /// </summary>
    public const int Offset = 10_000;

    /// <summary>Largest request body; anything bigger is 413 before it is read.</summary>
    public const long RequestBody = 1024 * 1024;
}
