using System.Collections.Concurrent;
using System.Diagnostics;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>
/// Counts database round trips made to one database: Npgsql traces one activity per command
/// or batch it sends, so the count is how many times the service waited on the database.
/// Opening a physical connection (a "CONNECT" activity) is left out: the pool keeps
/// connections open, so in steady state a request opens none. Tests of one class run one
/// after another, so a before/after difference is exactly one request's work.
/// </summary>
public sealed class RoundTripCounter : IDisposable
{
    readonly ActivityListener listener;
    readonly ConcurrentQueue<string> statements = new();

    public RoundTripCounter(string database)
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            // Npgsql sets its tags by the time the activity stops.
            ActivityStopped = activity =>
            {
                if (!activity.OperationName.StartsWith("CONNECT", StringComparison.Ordinal) && activity.GetTagItem("db.namespace") as string == database)
                {
                    statements.Enqueue(activity.GetTagItem("db.query.text") as string ?? activity.OperationName);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    public int Count => statements.Count;

    /// <summary>The statements sent so far, oldest first, for failure messages.</summary>
    public IReadOnlyList<string> Statements => [.. statements];

    public void Dispose() => listener.Dispose();
}
