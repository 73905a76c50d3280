using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Blog.Api.Http;

/// <summary>Timestamps on the wire: ISO 8601 in UTC with exactly three fraction digits.</summary>
internal sealed class UtcTimestampConverter : JsonConverter<DateTime>
{
    const string Format = "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'";

    public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTime().ToUniversalTime();

    public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options)
    {
        Span<byte> buffer = stackalloc byte[24];
        value.ToUniversalTime().TryFormat(buffer, out var written, Format, CultureInfo.InvariantCulture);
        writer.WriteStringValue(buffer[..written]);
    }
}
