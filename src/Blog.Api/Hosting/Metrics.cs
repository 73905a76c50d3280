using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Blog.Api.Hosting;

/// <summary>
/// Prometheus metrics on their own port (METRICS_PORT; fly.toml sets 9091 and its [metrics]
/// scrapes it; the public port does not serve them; off when unset): every instrument of ASP.NET Core, Kestrel, Npgsql,
/// the runtime and the service's own (<see cref="Meter"/>), each series labelled with the
/// machine's Fly region. Written in Prometheus's text format from a MeterListener: counters
/// and up-down counters are summed, gauges keep their last value, histograms are counted in
/// fixed buckets. README, Operability, says why this is not OpenTelemetry's (beta) exporter.
/// </summary>
internal sealed class Metrics : IDisposable
{
    /// <summary>The service's own instruments.</summary>
    public static readonly Meter Meter = new("Blog.Api");
    public static readonly Counter<long> CacheLookups = Meter.CreateCounter<long>("blog.cache.lookups", description: "Reads the edge cache was asked for, by reader (anonymous, signed_in) and result: hit, miss, bypass");
    public static readonly Counter<long> ViewerLookups = Meter.CreateCounter<long>("blog.cache.viewer_lookups", description: "Signed-in reads that looked for the reader's viewer entry, by result: hit, miss (loaded in the background), bypass (cache deaf or off, too many ids)");
    public static readonly Counter<long> CacheEvictions = Meter.CreateCounter<long>("blog.cache.evictions", description: "Changes evicted from the edge cache, by source: write (this instance), peer (pushed by another instance of the region) or listener");
    public static readonly Histogram<double> PeerPushes = Meter.CreateHistogram<double>("blog.cache.peer_pushes", unit: "s", description: "Writes pushed to each of the region's other instances before answering, and how long each push took, by result: evicted, refused (wrong key), unreachable, timed_out");
    public static readonly Counter<long> PreparedFallbacks = Meter.CreateCounter<long>("blog.prepared_statements.fallbacks", description: "Switches to unprepared statements after a pooler refused a prepared one");
    public static readonly Histogram<double> ReplicaWaits = Meter.CreateHistogram<double>("blog.replica.wait", unit: "s", description: "How long a write's answer waited for the read replica to replay it, by outcome: replayed, timed_out, released (reads left the replica)");
    public static readonly Counter<long> RateLimited = Meter.CreateCounter<long>("blog.rate_limit.rejections", description: "Requests refused with 429, by limit");

    static readonly string[] Meters = ["Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "Npgsql", "System.Runtime", "Blog.Api"];

    // Seconds; the same boundaries in milliseconds for instruments measured in ms.
    static readonly double[] Buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    sealed class Series(string labels, int buckets)
    {
        public readonly string Labels = labels;
        public double Value;
        public long Count;
        public readonly long[] Buckets = new long[buckets + 1];  // the last: above every bound
    }

    sealed class Family(Instrument instrument)
    {
        public readonly Instrument Instrument = instrument;
        public readonly string Name = NameOf(instrument);
        public readonly double[] Bounds = instrument.Unit == "ms" ? [.. Metrics.Buckets.Select(b => b * 1000)] : Metrics.Buckets;
        public readonly Dictionary<string, Series> Series = [];
    }

    readonly MeterListener listener = new();
    readonly Dictionary<Instrument, Family> families = [];
    readonly Lock gate = new();
    readonly Lock scraping = new();  // one scrape at a time: each resets and re-reads the observable instruments
    readonly string region;

    // Creates the service's instruments before the first instance exists (the class is not
    // beforefieldinit): created lazily during the listener's start, they were never enabled.
    static Metrics()
    {
    }

    public Metrics(Settings settings)
    {
        region = Escape(settings.Region);
        listener.InstrumentPublished = (instrument, listener) =>
        {
            if (!Meters.Contains(instrument.Meter.Name)) return;
            lock (gate) families[instrument] = new Family(instrument);
            listener.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<float>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<short>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<byte>((instrument, value, tags, _) => Record(instrument, value, tags));
        listener.SetMeasurementEventCallback<decimal>((instrument, value, tags, _) => Record(instrument, (double)value, tags));
        listener.Start();
    }

    void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = Labels(tags);
        lock (gate)
        {
            if (!families.TryGetValue(instrument, out var family)) return;
            if (!family.Series.TryGetValue(labels, out var series)) family.Series[labels] = series = new Series(labels, family.Bounds.Length);
            switch (instrument)
            {
                case { IsObservable: true }:
                    series.Value += value;  // summed over the callbacks of one scrape (two pools may share a name)
                    break;
                case Gauge<long> or Gauge<int> or Gauge<double> or Gauge<float> or Gauge<short> or Gauge<byte> or Gauge<decimal>:
                    series.Value = value;  // the current value
                    break;
                case Histogram<long> or Histogram<int> or Histogram<double> or Histogram<float> or Histogram<short> or Histogram<byte> or Histogram<decimal>:
                    series.Value += value;
                    series.Count++;
                    var bucket = Array.BinarySearch(family.Bounds, value);
                    series.Buckets[bucket < 0 ? ~bucket : bucket]++;  // the first bound at or above the value (none: only +Inf)
                    break;
                default:
                    series.Value += value;  // counters and up-down counters
                    break;
            }
        }
    }

    string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var text = new StringBuilder("fly_region=\"").Append(region).Append('"');
        foreach (var (key, value) in tags)
        {
            text.Append(',').Append(key.Replace('.', '_').Replace('-', '_')).Append("=\"")
                .Append(Escape(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "")).Append('"');
        }
        return text.ToString();
    }

    static string Escape(string value) => value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");

    static string NameOf(Instrument instrument)
    {
        var name = instrument.Name.Replace('.', '_').Replace('-', '_');
        name += instrument.Unit switch
        {
            "s" => "_seconds",
            "ms" => "_milliseconds",
            "By" => "_bytes",
            _ => "",
        };
        return instrument is Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double>
            ? name + "_total"
            : name;
    }

    static string TypeOf(Instrument instrument) => instrument switch
    {
        Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double> => "counter",
        Histogram<long> or Histogram<int> or Histogram<double> or Histogram<float> => "histogram",
        _ => "gauge",
    };

    /// <summary>Every series now, in Prometheus's text format (version 0.0.4).</summary>
    public string Scrape()
    {
        lock (scraping)
        {
            lock (gate)
            {
                foreach (var series in families.Values.Where(f => f.Instrument.IsObservable).SelectMany(f => f.Series.Values)) series.Value = 0;
            }
            listener.RecordObservableInstruments();
            return Write();
        }
    }

    string Write()
    {
        var text = new StringBuilder();
        lock (gate)
        {
            foreach (var family in families.Values.Where(f => f.Series.Count > 0).OrderBy(f => f.Name, StringComparer.Ordinal))
            {
                var type = TypeOf(family.Instrument);
                if (family.Instrument.Description is { Length: > 0 } help) text.Append("# HELP ").Append(family.Name).Append(' ').Append(help.Replace("\n", " ")).Append('\n');
                text.Append("# TYPE ").Append(family.Name).Append(' ').Append(type).Append('\n');
                foreach (var series in family.Series.Values)
                {
                    if (type != "histogram")
                    {
                        text.Append(family.Name).Append('{').Append(series.Labels).Append("} ").Append(Number(series.Value)).Append('\n');
                        continue;
                    }
                    long cumulative = 0;
                    for (var i = 0; i < family.Bounds.Length; i++)
                    {
                        cumulative += series.Buckets[i];
                        text.Append(family.Name).Append("_bucket{").Append(series.Labels).Append(",le=\"").Append(Number(family.Bounds[i])).Append("\"} ").Append(cumulative).Append('\n');
                    }
                    text.Append(family.Name).Append("_bucket{").Append(series.Labels).Append(",le=\"+Inf\"} ").Append(series.Count).Append('\n');
                    text.Append(family.Name).Append("_sum{").Append(series.Labels).Append("} ").Append(Number(series.Value)).Append('\n');
                    text.Append(family.Name).Append("_count{").Append(series.Labels).Append("} ").Append(series.Count).Append('\n');
                }
            }
        }
        return text.ToString();
    }

    static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public void Dispose() => listener.Dispose();

    /// <summary>
    /// GET /metrics, answered only on a connection to METRICS_PORT (the Host header is the
    /// client's to choose; the port it connected to is not). 0 turns metrics off.
    /// </summary>
    public static void MapMetrics(WebApplication app, Settings settings)
    {
        if (settings.MetricsPort == 0) return;
        app.MapGet("/metrics", IResult (HttpContext http, Metrics metrics) => http.Connection.LocalPort == settings.MetricsPort
                ? TypedResults.Text(metrics.Scrape(), "text/plain; version=0.0.4; charset=utf-8")
                : TypedResults.NotFound())
            .ExcludeFromDescription();
    }
}
