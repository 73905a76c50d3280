using System.Text.Json;
using Npgsql;

namespace Blog.Api.Http;

/// <summary>
/// The one place where failures become API errors: unreadable bodies become 422, constraint
/// violations the 4xx they mean, an unreachable database 503, and anything else a bare 500
/// with no stack trace. Empty error responses from the framework (404 route, 405, 415) get
/// the error shape too.
/// </summary>
internal static class ErrorHandling
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
        // A statement past the request's deadline (RequestCommands) is cancelled: the database is too slow or silent.
        NpgsqlException or TimeoutException or OperationCanceledException => ApiError.Unavailable,
        _ => ApiError.Of(500, "server", "unexpected error"),
    };

    /// <summary>
    /// Every constraint of the schema (Data/Migrations) that a request can break, and what the
    /// client sees then. Postgres names a one-column CHECK <c>table_column_check</c> and a foreign
    /// key <c>table_column_fkey</c>. A test fails when a migration adds a check, foreign key or
    /// unique constraint that is in neither this table nor <see cref="Unbreakable"/>.
    /// </summary>
    internal static readonly IReadOnlyDictionary<string, ApiError> Constraints = new Dictionary<string, ApiError>
    {
        ["users_username_key"] = ApiError.Taken("username"),
        ["users_email_key"] = ApiError.Taken("email"),
        ["users_username_check"] = ApiError.Invalid("username"),
        ["users_email_check"] = ApiError.Invalid("email"),
        ["users_name_check"] = ApiError.Invalid("name"),
        ["users_bio_check"] = ApiError.Invalid("bio"),
        ["users_image_check"] = ApiError.Invalid("image"),
        ["follows_not_self"] = ApiError.Of(422, "profile", "cannot follow yourself"),
        ["follows_follower_id_fkey"] = ApiError.TokenInvalid,  // the caller's user is gone, the token names no one
        ["follows_followee_id_fkey"] = ApiError.NotFound("profile"),
        ["articles_slug_check"] = ApiError.Invalid("title"),
        ["articles_title_check"] = ApiError.Invalid("title"),
        ["articles_description_check"] = ApiError.Invalid("description"),
        ["articles_body_check"] = ApiError.Invalid("body"),
        ["articles_author_id_fkey"] = ApiError.TokenInvalid,
        ["tags_name_check"] = ApiError.Invalid("tagList"),
        ["article_tags_article_id_fkey"] = ApiError.NotFound("article"),
        ["favorites_article_id_fkey"] = ApiError.NotFound("article"),
        ["favorites_user_id_fkey"] = ApiError.TokenInvalid,
        ["comments_body_check"] = ApiError.Invalid("body"),
        ["comments_article_id_fkey"] = ApiError.NotFound("article"),
        ["comments_author_id_fkey"] = ApiError.TokenInvalid,
    };

    /// <summary>Constraints (besides primary keys) that no statement of the API can break, and why.</summary>
    internal static readonly IReadOnlyDictionary<string, string> Unbreakable = new Dictionary<string, string>
    {
        ["articles_slug_key"] = "a slug ends with the article's own id",
        ["articles_public_id_key"] = "a random UUID",
        ["tags_name_key"] = "tags are upserted",
        ["article_tags_tag_id_fkey"] = "tags are never deleted",
        ["article_count_singleton_check"] = "only triggers write the counter's one row",
    };

    /// <summary>Raised by signed_in() (migration 0006): the token's user is gone, or the token was revoked.</summary>
    internal const string TokenRevoked = "BT401";

    static ApiError FromPostgres(PostgresException e) => (e.SqlState, e.ConstraintName) switch
    {
        (TokenRevoked, _) => ApiError.TokenInvalid,
        (PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.ForeignKeyViolation or PostgresErrorCodes.CheckViolation, { } name)
            when Constraints.TryGetValue(name, out var error) => error,
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
