using System.Text.Json;
using Npgsql;

namespace Blog.Api.Infrastructure;

/// <summary>
/// The one place where failures become API errors: unreadable bodies become 422, constraint
/// violations the 4xx they mean, an unreachable database 503, and anything else a bare 500
/// with no stack trace. Empty error responses from the framework (404 route, 405, 415) get
/// the error shape too.
/// </summary>
public static class ErrorHandling
{
    public static IApplicationBuilder UseApiErrors(this IApplicationBuilder app)
    {
        app.UseStatusCodePages(context => ForStatus(context.HttpContext.Response.StatusCode).ExecuteAsync(context.HttpContext));
        return app.Use(async (context, next) =>
        {
            // Turn away a declared oversized body before anything reads it (Kestrel's own limit
            // also stops chunked bodies as they grow).
            if (context.Request.ContentLength > Limits.RequestBody)
            {
                await ForStatus(StatusCodes.Status413PayloadTooLarge).ExecuteAsync(context);
                return;
            }
            try
            {
                await next(context);
            }
            catch (Exception exception) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                var error = FromException(exception);
                if (error.StatusCode >= 500)
                {
                    context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Blog.Api.Errors")
                        .LogError(exception, "{Method} {Path} failed with {Status}", context.Request.Method, context.Request.Path.Value, error.StatusCode);
                }
                context.Response.Clear();
                await error.ExecuteAsync(context);
            }
        });
    }

    public static ApiError FromException(Exception exception) => exception switch
    {
        // A syntax error wraps the reader's own JsonException: the body as a whole is bad.
        // Without one, a value had the wrong type, and its path names the field.
        BadHttpRequestException { InnerException: JsonException { InnerException: JsonException } } => ApiError.Invalid("body"),
        BadHttpRequestException { InnerException: JsonException json } => ApiError.Invalid(FieldOf(json.Path)),
        BadHttpRequestException { StatusCode: var status } when status is >= 400 and < 500 => ForStatus(status),
        PostgresException postgres => FromPostgres(postgres),
        NpgsqlException or TimeoutException => ApiError.Unavailable,
        _ => ApiError.Of(500, "server", "unexpected error"),
    };

    /// <summary>Constraint names from the migrations, mapped to the error a client should see.</summary>
    static ApiError FromPostgres(PostgresException e) => (e.SqlState, e.ConstraintName) switch
    {
        (PostgresErrorCodes.UniqueViolation, "users_username_key") => ApiError.Taken("username"),
        (PostgresErrorCodes.UniqueViolation, "users_email_key") => ApiError.Taken("email"),
        (PostgresErrorCodes.ForeignKeyViolation, { } name) when name.EndsWith("article_id_fkey", StringComparison.Ordinal) => ApiError.NotFound("article"),
        // A user row is gone while its token is still valid: the token no longer names anyone.
        (PostgresErrorCodes.ForeignKeyViolation, _) => ApiError.TokenInvalid,
        (PostgresErrorCodes.CheckViolation, "follows_not_self") => ApiError.Of(422, "profile", "cannot follow yourself"),
        (PostgresErrorCodes.CheckViolation, { } name) => ApiError.Invalid(name.Split('_') is [_, var field, ..] ? field : "body"),
        (PostgresErrorCodes.StringDataRightTruncation or PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter, _) => ApiError.Invalid("body"),
        (PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.LockNotAvailable, _) => ApiError.Unavailable,
        ({ } state, _) when state.StartsWith("08", StringComparison.Ordinal) || state.StartsWith("57P", StringComparison.Ordinal) || state == PostgresErrorCodes.TooManyConnections => ApiError.Unavailable,
        _ => ApiError.Of(500, "server", "unexpected error"),
    };

    /// <summary>"$.article.tagList[2]" → "tagList"; the key a client recognises.</summary>
    static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$") return "body";
        var last = path[(path.LastIndexOf('.') + 1)..];
        var bracket = last.IndexOf('[');
        var field = bracket < 0 ? last : last[..bracket];
        return field.Length == 0 || field == "$" ? "body" : field.Trim('\'', '"');
    }

    static ApiError ForStatus(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => ApiError.TokenMissing,
        StatusCodes.Status404NotFound => ApiError.Of(404, "path", "not found"),
        StatusCodes.Status405MethodNotAllowed => ApiError.Of(405, "method", "is not allowed"),
        StatusCodes.Status413PayloadTooLarge => ApiError.Of(413, "body", $"is too large (maximum is {Limits.RequestBody} bytes)"),
        StatusCodes.Status429TooManyRequests => ApiError.Of(429, "requests", "too many, try again later"),
        StatusCodes.Status415UnsupportedMediaType => ApiError.Of(415, "body", "must be JSON (Content-Type: application/json)"),
        StatusCodes.Status503ServiceUnavailable => ApiError.Unavailable,
        >= 400 and < 500 => ApiError.Of(status, "body", "is invalid"),
        _ => ApiError.Of(status, "server", "unexpected error"),
    };
}
