using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>One span as an OTLP receiver gets it (ids in hex; string and integer attributes).</summary>
public sealed record ReceivedSpan(
    string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, string Scope,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyDictionary<string, string> Resource)
{
    public const int Server = 2, Client = 3;  // SpanKind in the OTLP protobuf
}

/// <summary>
/// A small OTLP/HTTP trace receiver (POST /v1/traces, protobuf), enough to read what the
/// service exports: the spans, their parents, attributes and resource. The payloads are kept
/// raw too, so a test can look for bytes that must never leave the service.
/// </summary>
public sealed class OtlpReceiver : IDisposable
{
    readonly HttpListener listener = new();
    readonly ConcurrentQueue<byte[]> payloads = new();

    public OtlpReceiver()
    {
        Port = Processes.FreePort();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
        _ = Task.Run(ServeAsync);
    }

    public int Port { get; }
    public string Endpoint => $"http://127.0.0.1:{Port}";
    public IReadOnlyList<byte[]> Payloads => [.. payloads];
    public IReadOnlyList<ReceivedSpan> Spans => [.. payloads.SelectMany(Parse)];

    async Task ServeAsync()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await listener.GetContextAsync(); }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException) { return; }
            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var protobuf = context.Request.HttpMethod == "POST" && context.Request.Url?.AbsolutePath == "/v1/traces" &&
                context.Request.ContentType == "application/x-protobuf";
            if (protobuf) payloads.Enqueue(body.ToArray());
            context.Response.StatusCode = protobuf ? 200 : 400;
            context.Response.ContentType = "application/x-protobuf";  // an empty ExportTraceServiceResponse
            context.Response.Close();
        }
    }

    /// <summary>Waits until the spans received satisfy <paramref name="done"/>.</summary>
    public async Task<IReadOnlyList<ReceivedSpan>> WaitForAsync(Func<IReadOnlyList<ReceivedSpan>, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var spans = Spans;
            if (done(spans)) return spans;
            if (DateTime.UtcNow > deadline) Assert.Fail($"the spans never arrived; received: {string.Join(", ", spans.Select(s => $"{s.Scope}:{s.Name}"))}");
            await Task.Delay(50);
        }
    }

    public void Dispose() => listener.Close();

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1 }
    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2 }
    // ScopeSpans { InstrumentationScope scope = 1 (name = 1); repeated Span spans = 2 }
    // Span { trace_id = 1; span_id = 2; parent_span_id = 4; name = 5; kind = 6; repeated KeyValue attributes = 9 }
    static IEnumerable<ReceivedSpan> Parse(byte[] payload)
    {
        foreach (var resourceSpans in Fields(payload).Where(f => f.Number == 1))
        {
            var fields = Fields(resourceSpans.Bytes);
            var resource = fields.Where(f => f.Number == 1)  // Resource { repeated KeyValue attributes = 1 }
                .SelectMany(r => Fields(r.Bytes).Where(f => f.Number == 1)).SelectMany(a => Attributes(a.Bytes)).ToDictionary();
            foreach (var scopeSpans in fields.Where(f => f.Number == 2))
            {
                var scopeFields = Fields(scopeSpans.Bytes);
                var scope = scopeFields.Where(f => f.Number == 1).Select(s => Text(Fields(s.Bytes), 1)).FirstOrDefault() ?? "";
                foreach (var span in scopeFields.Where(f => f.Number == 2))
                {
                    var s = Fields(span.Bytes);
                    yield return new ReceivedSpan(Hex(s, 1), Hex(s, 2), Hex(s, 4), Text(s, 5) ?? "", (int)(s.FirstOrDefault(f => f.Number == 6)?.Varint ?? 0),
                        scope, s.Where(f => f.Number == 9).SelectMany(a => Attributes(a.Bytes)).ToDictionary(), resource);
                }
            }
        }
    }

    // KeyValue { key = 1; AnyValue value = 2 { string_value = 1; bool_value = 2; int_value = 3 } }
    static IEnumerable<KeyValuePair<string, string>> Attributes(ReadOnlyMemory<byte> keyValue)
    {
        var fields = Fields(keyValue);
        var value = fields.Where(f => f.Number == 2).Select(v => Fields(v.Bytes)).FirstOrDefault() ?? [];
        var text = Text(value, 1) ?? value.FirstOrDefault(f => f.Number is 2 or 3)?.Varint.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "";
        yield return new(Text(fields, 1) ?? "", text);
    }

    static string? Text(List<Field> fields, int number) =>
        fields.FirstOrDefault(f => f.Number == number) is { } field ? Encoding.UTF8.GetString(field.Bytes.Span) : null;

    static string Hex(List<Field> fields, int number) =>
        fields.FirstOrDefault(f => f.Number == number) is { } field ? Convert.ToHexStringLower(field.Bytes.Span) : "";

    sealed record Field(int Number, ReadOnlyMemory<byte> Bytes, ulong Varint);

    /// <summary>The fields of one protobuf message, by the wire format alone.</summary>
    static List<Field> Fields(ReadOnlyMemory<byte> message)
    {
        var fields = new List<Field>();
        var i = 0;
        while (i < message.Length)
        {
            var key = Varint(message.Span, ref i);
            var number = (int)(key >> 3);
            switch (key & 7)
            {
                case 0: fields.Add(new Field(number, default, Varint(message.Span, ref i))); break;
                case 1: fields.Add(new Field(number, message.Slice(i, 8), 0)); i += 8; break;
                case 2:
                    var length = (int)Varint(message.Span, ref i);
                    fields.Add(new Field(number, message.Slice(i, length), 0));
                    i += length;
                    break;
                case 5: fields.Add(new Field(number, message.Slice(i, 4), 0)); i += 4; break;
                default: throw new InvalidDataException($"wire type {key & 7} at byte {i}");
            }
        }
        return fields;
    }

    static ulong Varint(ReadOnlySpan<byte> bytes, ref int i)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = bytes[i++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
    }
}
