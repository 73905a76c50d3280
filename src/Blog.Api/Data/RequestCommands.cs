using Dapper;

namespace Blog.Api.Data;

/// <summary>
/// The base of the command factories that Dapper.AOT generates for every statement (the
/// module attribute in Database.cs): a statement sent during a request is cancelled with the
/// request, when the client goes away or the request's deadline passes (RequestDeadline:
/// a 503). So no statement can wait forever on a silent database, and no call site has to
/// say so. Dapper.AOT itself cannot carry a default: it reserves CommandTimeout (DAP034) and
/// sets each command's timeout to the call's argument, 0 (no limit) when there is none.
/// </summary>
internal abstract class RequestCommands<T> : CommandFactory<T>
{
    // Reads the framework's ambient request (AddHttpContextAccessor), here and in any instance.
    static readonly HttpContextAccessor Requests = new();

    public override CancellationToken GetCancellationToken(T args) => Requests.HttpContext?.RequestAborted ?? default;
}
