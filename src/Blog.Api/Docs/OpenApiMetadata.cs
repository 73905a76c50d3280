using Blog.Api.Http;

namespace Blog.Api.Docs;

/// <summary>
/// A route parameter that the handler takes as text, so that a bad value gets the API's own
/// 422 or 404, described in the document as what it must hold: declared where the route is
/// mapped (<see cref="OpenApiMetadata"/>) and applied by OpenApi's transformer. Plain data, so
/// the AOT binary, which serves the committed document, carries no OpenAPI types.
/// </summary>
internal sealed record ParameterDoc(string Name, string Type, string Format, long? Minimum = null, long? Maximum = null, int? Default = null)
{
    public static ParameterDoc Integer(string name, long minimum, long maximum, int? fallback = null) =>
        new(name, "integer", maximum > int.MaxValue ? "int64" : "int32", minimum, maximum, fallback);

    public static ParameterDoc Uuid(string name) => new(name, "string", "uuid");
}

internal static class OpenApiMetadata
{
    public static RouteHandlerBuilder Documents(this RouteHandlerBuilder builder, ParameterDoc parameter) => builder.WithMetadata(parameter);

    /// <summary>The limit and offset query parameters (Paging).</summary>
    public static RouteHandlerBuilder DocumentsPaging(this RouteHandlerBuilder builder) => builder
        .Documents(ParameterDoc.Integer("limit", 1, Limits.PageSize, Limits.DefaultPageSize))
        .Documents(ParameterDoc.Integer("offset", 0, Limits.Offset, 0));
}

/// <summary>A JSON Schema format (e.g. "uuid") for a property the API takes as text.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class SchemaFormatAttribute(string format) : Attribute
{
    public string Format => format;
}

/// <summary>A list of at most <paramref name="maxItems"/> texts of at most <paramref name="itemMaxLength"/> characters each (tagList).</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class TextListAttribute(int maxItems, int itemMaxLength) : Attribute
{
    public int MaxItems => maxItems;
    public int ItemMaxLength => itemMaxLength;
}
