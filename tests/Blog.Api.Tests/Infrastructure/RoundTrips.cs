using System.Collections.Concurrent;
using System.Diagnostics;

namespace Blog.Api.Tests.Infrastructure;

/// <summary>
/// Counts the database round trips requests make to one database: Npgsql traces one activity
/// per command or batch it sends, so the count is how many times a request waited on the
/// database. Only statements sent inside a request count (under ASP.NET Core's request
/// activity): the service's background work (the prepared-statement probe, the cache's
/// listener, replica checks) runs whenever it runs, and the tests' own checks are not the
/// service's. Opening a physical connection (a "CONNECT" activity) is left out: the pool keeps
/// connections open, so in steady state a request opens none. Tests of one class run one
/// after another, so a before/after difference is exactly one request's work.
/// </summary>
public sealed class RoundTripCounter : IDisposable
{
    const string RequestSource = "Microsoft.AspNetCore";

    readonly ActivityListener listener;
    readonly ConcurrentQueue<string> statements = new();

    public RoundTripCounter(string database)
    {
        listener = new ActivityListener
        {
            // Listening to the request source makes ASP.NET Core start an activity per request.
            ShouldListenTo = source => source.Name is "Npgsql" or RequestSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            // Npgsql sets its tags by the time the activity stops.
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == "Npgsql" && !activity.OperationName.StartsWith("CONNECT", StringComparison.Ordinal)
                    && activity.GetTagItem("db.namespace") as string == database && InRequest(activity))
                {
                    statements.Enqueue(activity.GetTagItem("db.query.text") as string ?? activity.OperationName);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    static bool InRequest(Activity activity)
    {
        for (var parent = activity.Parent; parent is not null; parent = parent.Parent)
        {
            if (parent.Source.Name == RequestSource) return true;
        }
        return false;
    }

    public int Count => statements.Count;

    /// <summary>The statements sent so far, oldest first, for failure messages.</summary>
    public IReadOnlyList<string> Statements => [.. statements];

    public void Dispose() => listener.Dispose();
}
