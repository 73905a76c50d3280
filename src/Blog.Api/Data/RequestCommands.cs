using Dapper;

namespace Blog.Api.Data;

/// <summary>
/// The base of the command factories that Dapper.AOT generates for every statement (the
/// module attribute in Database.cs): the statements of a request share a deadline,
/// <see cref="StatementDeadline.Limit"/> from the first one, and end with the request when the client goes
/// away. So no statement can wait forever on a silent database (the client gets a 503 with
/// Retry-After, ErrorHandling), and no call site has to say so. Dapper.AOT itself cannot carry
/// a default: it reserves CommandTimeout (DAP034) and sets each command's timeout to the
/// call's argument, 0 (no limit) when there is none. The deadline starts at the first
/// statement, so time spent before it (hashing a password on a busy machine) does not count.
/// </summary>
internal abstract class RequestCommands<T> : CommandFactory<T>
{
    public override CancellationToken GetCancellationToken(T args) => StatementDeadline.For(StatementDeadline.Requests.HttpContext);
}

internal static class StatementDeadline
{
    /// <summary>How long the statements of one request may take, together. The slowest takes a few milliseconds.</summary>
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    // The framework's ambient request (registered with AddHttpContextAccessor), read here and in any instance.
    internal static readonly HttpContextAccessor Requests = new();

    static readonly object Key = new();

    public static CancellationToken For(HttpContext? http)
    {
        if (http is null) return default;
        if (http.Items.TryGetValue(Key, out var started)) return ((CancellationTokenSource)started!).Token;
        var deadline = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        deadline.CancelAfter(Limit);
        http.Response.RegisterForDispose(deadline);
        http.Items[Key] = deadline;
        return deadline.Token;
    }

    /// <summary>
    /// Lifts the deadline of a request whose rows are written as they are read (Streaming):
    /// the statement has run, and what is left is paced by the client. Kestrel's minimum data
    /// rate still drops a client that stalls, and a client that goes away still ends it.
    /// </summary>
    public static void Lift(HttpContext http)
    {
        if (http.Items.TryGetValue(Key, out var started)) ((CancellationTokenSource)started!).CancelAfter(Timeout.InfiniteTimeSpan);
    }
}
