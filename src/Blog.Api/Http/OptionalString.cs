using System.Text.Json;
using System.Text.Json.Serialization;

namespace Blog.Api.Http;

/// <summary>
/// A string field of an update body that tells "absent" (leave unchanged) from an explicit
/// <c>null</c> (clear it, or 422 where a field cannot be cleared). A plain <c>string?</c>
/// cannot tell the two apart.
/// </summary>
[JsonConverter(typeof(OptionalStringConverter))]
internal readonly record struct OptionalString(bool IsSet, string? Value)
{
    public static implicit operator OptionalString(string? value) => new(true, value);
}

/// <summary>Marks an update field that null or "" clears (bio, image); others cannot be blanked.</summary>
[AttributeUsage(AttributeTargets.Property)]
internal sealed class ClearableAttribute : Attribute;

internal sealed class OptionalStringConverter : JsonConverter<OptionalString>
{
    // Value-type converters also receive JSON null, which is what makes "set to null" visible.
    public override OptionalString Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType switch
        {
            JsonTokenType.Null => new(true, null),
            JsonTokenType.String => new(true, reader.GetString()),
            _ => throw new JsonException("Expected a string or null."),
        };

    public override void Write(Utf8JsonWriter writer, OptionalString value, JsonSerializerOptions options)
    {
        if (value.Value is null) writer.WriteNullValue();
        else writer.WriteStringValue(value.Value);
    }
}
