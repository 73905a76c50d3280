using System.Collections.Concurrent;
using System.Diagnostics;

namespace Blog.Sessions;

/// <summary>
/// Every operation of a run, and the checker that reads them. Each user's data is a set of
/// registers (a bio, whether a profile is followed, the newest article, …) that only that user
/// writes, one write at a time: write n of a register gives it version n and a value. A read
/// observes a value, which some versions match. Two session guarantees are checked per user
/// and register (Terry et al. 1994, as Jepsen checks them):
/// <list type="bullet">
/// <item>read-your-writes: a read that began after a write was acknowledged shows that write
/// or a later one (versions from the last acknowledged before the read began to the last begun
/// before it ended);</item>
/// <item>monotonic reads: a read never shows an older version than an earlier read of the
/// same user showed.</item>
/// </list>
/// </summary>
public sealed class History
{
    readonly ConcurrentQueue<Operation> operations = new();
    readonly ConcurrentDictionary<(int User, string Key), string> initial = new();

    /// <summary>A write: <paramref name="version"/> of the register, with its value; or a failed request.</summary>
    public sealed record Operation(int User, string Key, bool IsWrite, int Version, string Value, Func<string, bool>? Matches,
        long Start, long End, int Status);

    /// <summary>The value a register has before its first write.</summary>
    public void Initially(int user, string key, string value) => initial[(user, key)] = value;

    public void Write(int user, string key, int version, string value, long start, long end, int status) =>
        operations.Enqueue(new Operation(user, key, true, version, value, null, start, end, status));

    /// <summary>A read of <paramref name="key"/> that saw <paramref name="seen"/>, which the versions whose value <paramref name="matches"/> could have shown.</summary>
    public void Read(int user, string key, string seen, Func<string, bool> matches, long start, long end, int status) =>
        operations.Enqueue(new Operation(user, key, false, 0, seen, matches, start, end, status));

    public static long Now => Stopwatch.GetTimestamp();

    public Report Check()
    {
        var violations = new List<string>();
        var (reads, errors, notFound) = (0, 0, 0);
        var writeMs = new List<double>();
        foreach (var register in operations.GroupBy(o => (o.User, o.Key)))
        {
            var writes = register.Where(o => o.IsWrite).OrderBy(o => o.Version).ToArray();
            var values = new Dictionary<int, string> { [0] = initial.GetValueOrDefault(register.Key, "") };
            foreach (var write in writes)
            {
                values[write.Version] = write.Value;
                if (write.Status is < 200 or >= 300) errors++;
                else writeMs.Add(Stopwatch.GetElapsedTime(write.Start, write.End).TotalMilliseconds);
            }
            var floor = 0;  // the oldest version the user's earlier reads allow
            foreach (var read in register.Where(o => !o.IsWrite).OrderBy(o => o.Start))
            {
                if (read.Status == 404) notFound++;
                if (read.Status is not (>= 200 and < 300 or 404))
                {
                    errors++;
                    continue;
                }
                reads++;
                var acknowledged = writes.Where(w => w.End < read.Start && w.Status is >= 200 and < 300).Select(w => w.Version).DefaultIfEmpty(0).Max();
                var begun = writes.Where(w => w.Start < read.End).Select(w => w.Version).DefaultIfEmpty(0).Max();
                var possible = Enumerable.Range(acknowledged, begun - acknowledged + 1).Where(v => values.TryGetValue(v, out var value) && read.Matches!(value)).ToArray();
                var what = $"user {read.User} {read.Key}: saw '{read.Value}'";
                if (possible.Length == 0)
                {
                    var older = values.Where(v => v.Key < acknowledged && read.Matches!(v.Value)).Select(v => v.Key).DefaultIfEmpty(-1).Max();
                    violations.Add(older >= 0
                        ? $"read-your-writes: {what}, version {older}, after version {acknowledged} ('{values[acknowledged]}') was acknowledged"
                        : $"no such value: {what}, versions {acknowledged}..{begun} were possible");
                    continue;
                }
                if (possible.All(v => v < floor))
                {
                    violations.Add($"monotonic reads: {what}, version {possible.Max()}, after an earlier read showed version {floor}");
                    continue;
                }
                floor = possible.First(v => v >= floor);
            }
        }
        writeMs.Sort();
        return new Report(reads, violations, errors, notFound, writeMs.Count, Percentile(writeMs, 0.5), Percentile(writeMs, 0.99), writeMs.LastOrDefault());
    }

    static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)], 1);
}

/// <summary>What the checker found: reads checked, violations (each in words), failed requests, 404s, and the writes' latency.</summary>
public sealed record Report(int ReadsChecked, IReadOnlyList<string> Violations, int Errors, int NotFound, int Writes, double WriteP50Ms, double WriteP99Ms, double WriteMaxMs)
{
    public override string ToString() =>
        $"{ReadsChecked} reads checked, {Violations.Count} violations, {Errors} errors, {NotFound} 404s; {Writes} writes, p50 {WriteP50Ms} ms, p99 {WriteP99Ms} ms, max {WriteMaxMs} ms" +
        string.Concat(Violations.Take(20).Select(v => "\n  " + v));
}
