using System.Text.Json;
using Blog.Api.Http;

namespace Blog.Api.Tests.Http;

public sealed class TimestampTests
{
    [Theory]
    [InlineData("2026-11-28T08:35:27.1239999Z", "2026-11-28T08:35:27.123Z")]  // truncated, never rounded up
    [InlineData("0001-01-01T00:00:00.0000000Z", "0001-01-01T00:00:00.000Z")]
    [InlineData("9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.999Z")]
    [InlineData("2024-02-29T01:02:03.004+02:00", "2024-02-28T23:02:03.004Z")]  // any offset, written in UTC
    public void Timestamps_are_written_in_UTC_with_three_fraction_digits(string given, string written)
    {
        var options = new JsonSerializerOptions { Converters = { new UtcTimestampConverter() } };
        var value = DateTimeOffset.Parse(given, System.Globalization.CultureInfo.InvariantCulture).UtcDateTime;

        Assert.Equal($"\"{written}\"", JsonSerializer.Serialize(value, options));
        Assert.Equal(value.AddTicks(-(value.Ticks % TimeSpan.TicksPerMillisecond)), JsonSerializer.Deserialize<DateTime>($"\"{written}\"", options));
    }
}
