namespace Blog.Api.Http;

/// <summary>The one error shape of the API: <c>{"errors":{"field":["message"]}}</c>.</summary>
internal sealed record ErrorBody(IReadOnlyDictionary<string, string[]> Errors);

/// <summary>
/// Every 4xx/5xx the API answers, as a result a handler can return. The messages are the
/// RealWorld suite's, word for word.
/// </summary>
internal sealed class ApiError(int statusCode, IReadOnlyDictionary<string, string[]> errors) : IResult, IStatusCodeHttpResult
{
    public int StatusCode => statusCode;
    int? IStatusCodeHttpResult.StatusCode => statusCode;
    public IReadOnlyDictionary<string, string[]> Errors => errors;

    public static ApiError Of(int statusCode, string key, string message) =>
        new(statusCode, new Dictionary<string, string[]> { [key] = [message] });

    public static ApiError Blank(string field) => Of(422, field, "can't be blank");
    public static ApiError Invalid(string field) => Of(422, field, "is invalid");
    public static ApiError Taken(string field) => Of(409, field, "has already been taken");
    public static ApiError Forbidden(string resource) => Of(403, resource, "forbidden");
    public static ApiError NotFound(string resource) => Of(404, resource, "not found");
    public static ApiError TokenMissing => Of(401, "token", "is missing");
    public static ApiError TokenInvalid => Of(401, "token", "is invalid");
    public static ApiError BadCredentials => Of(401, "credentials", "invalid");
    public static ApiError Unavailable => Of(503, "database", "is unavailable, try again shortly");

    /// <summary>Seconds a client should wait before retrying a 503.</summary>
    public const int RetryAfterSeconds = 2;

    /// <summary>The Retry-After header to send, if any (a 503 always has one).</summary>
    public string? RetryAfter { get; init; }

    public Task ExecuteAsync(HttpContext context)
    {
        context.Response.StatusCode = statusCode;
        if (RetryAfter is { } seconds) context.Response.Headers.RetryAfter = seconds;
        else if (statusCode == StatusCodes.Status503ServiceUnavailable)
        {
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        return context.Response.WriteAsJsonAsync(new ErrorBody(errors), AppJson.HttpOptions(context).ErrorBody(), contentType: "application/json; charset=utf-8");
    }
}

internal static class ApiErrorMetadata
{
    /// <summary>Documents the error statuses an endpoint answers with, all in the error shape.</summary>
    public static RouteHandlerBuilder ProducesErrors(this RouteHandlerBuilder builder, params int[] statusCodes)
    {
        foreach (var status in statusCodes) builder.Produces<ErrorBody>(status);
        return builder;
    }
}
