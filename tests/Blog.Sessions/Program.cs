using System.Text.Json;
using Blog.Sessions;

// usage: Blog.Sessions URL WRITERS SECONDS [PAIR_FOLDER REPLICA_PAIR_SCRIPT]
// URL may name several instances, comma-separated: each request goes to one of them at random.
// Prints the checker's report as JSON; exits 1 when it found a violation, an error or a 404.
if (args.Length is not (3 or 5))
{
    Console.Error.WriteLine("usage: Blog.Sessions URL WRITERS SECONDS [PAIR_FOLDER REPLICA_PAIR_SCRIPT]");
    return 2;
}
var faults = args.Length == 5 ? new ReplicaFaults(args[3], args[4]) : null;
var (report, _) = await Run.ExecuteAsync([.. args[0].Split(',').Select(url => new Uri(url))], int.Parse(args[1]), TimeSpan.FromSeconds(double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture)), faults);
Console.WriteLine(JsonSerializer.Serialize(new
{
    reads_checked = report.ReadsChecked,
    violations = report.Violations,
    errors = report.Errors,
    not_found = report.NotFound,
    writes = report.Writes,
    write_p50_ms = report.WriteP50Ms,
    write_p99_ms = report.WriteP99Ms,
    write_max_ms = report.WriteMaxMs,
    pauses = faults?.Pauses ?? 0,
    stops = faults?.Stops ?? 0,
}));
return report.Violations.Count + report.Errors + report.NotFound == 0 ? 0 : 1;
