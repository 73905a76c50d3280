using Blog.Api.Http;
using Blog.Api.Tests.Infrastructure;
using Dapper;
using Npgsql;

namespace Blog.Api.Tests.Reliability;

/// <summary>Database errors a client can cause become the right 4xx, in one place.</summary>
public sealed class PostgresErrorsTests
{
    static ApiError Map(string sqlState, string? constraint = null) =>
        ErrorHandling.FromException(new PostgresException("message", "ERROR", "ERROR", sqlState, constraintName: constraint));

    [Theory]
    [InlineData(PostgresErrorCodes.UniqueViolation, "users_username_key", 409, "username", "has already been taken")]
    [InlineData(PostgresErrorCodes.UniqueViolation, "users_email_key", 409, "email", "has already been taken")]
    [InlineData(PostgresErrorCodes.ForeignKeyViolation, "comments_article_id_fkey", 404, "article", "not found")]
    [InlineData(PostgresErrorCodes.ForeignKeyViolation, "favorites_article_id_fkey", 404, "article", "not found")]
    [InlineData(PostgresErrorCodes.ForeignKeyViolation, "articles_author_id_fkey", 401, "token", "is invalid")]
    [InlineData(PostgresErrorCodes.CheckViolation, "follows_not_self", 422, "profile", "cannot follow yourself")]
    [InlineData(PostgresErrorCodes.CheckViolation, "articles_title_check", 422, "title", "is invalid")]
    [InlineData(PostgresErrorCodes.CheckViolation, "tags_name_check", 422, "tagList", "is invalid")]
    [InlineData(PostgresErrorCodes.ForeignKeyViolation, "follows_followee_id_fkey", 404, "profile", "not found")]
    [InlineData(PostgresErrorCodes.CheckViolation, "some_new_check", 500, "server", "unexpected error")]
    [InlineData(PostgresErrorCodes.StringDataRightTruncation, null, 422, "body", "is invalid")]
    [InlineData(PostgresErrorCodes.CharacterNotInRepertoire, null, 422, "body", "is invalid")]
    [InlineData(PostgresErrorCodes.UntranslatableCharacter, null, 422, "body", "is invalid")]
    [InlineData(PostgresErrorCodes.DeadlockDetected, null, 503, "database", "is unavailable, try again shortly")]
    [InlineData(PostgresErrorCodes.SerializationFailure, null, 503, "database", "is unavailable, try again shortly")]
    [InlineData(PostgresErrorCodes.AdminShutdown, null, 503, "database", "is unavailable, try again shortly")]
    [InlineData(PostgresErrorCodes.TooManyConnections, null, 503, "database", "is unavailable, try again shortly")]
    [InlineData(PostgresErrorCodes.ConnectionFailure, null, 503, "database", "is unavailable, try again shortly")]
    public void Each_error_code_maps_to_its_status(string sqlState, string? constraint, int status, string key, string message)
    {
        var error = Map(sqlState, constraint);
        Assert.Equal(status, error.StatusCode);
        Assert.Equal([message], error.Errors[key]);
    }

    [Fact]
    public void A_database_that_cannot_be_reached_is_503_and_anything_unexpected_500_without_details()
    {
        Assert.Equal(503, ErrorHandling.FromException(new NpgsqlException("connection refused", new System.Net.Sockets.SocketException())).StatusCode);
        Assert.Equal(503, ErrorHandling.FromException(new TimeoutException()).StatusCode);
        var unexpected = ErrorHandling.FromException(new InvalidOperationException("secret internals"));
        Assert.Equal(500, unexpected.StatusCode);
        Assert.DoesNotContain("secret", string.Join(" ", unexpected.Errors.SelectMany(e => e.Value)));
    }

    [Fact]
    public async Task Every_constraint_of_the_schema_has_its_error_or_a_reason_it_cannot_be_broken()
    {
        var (connectionString, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("constraints");
        await using var connection = new NpgsqlConnection(connectionString);
        // Constraints, and unique indexes (a unique violation names the index).
        var names = (await connection.QueryAsync<string>("""
            SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace AND contype <> 'p'
            UNION
            SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE%' AND indexname NOT LIKE '%_pkey'
            """)).ToHashSet();

        var unmapped = names.Where(n => !ErrorHandling.Constraints.ContainsKey(n) && !ErrorHandling.Unbreakable.ContainsKey(n)).ToArray();
        var stale = ErrorHandling.Constraints.Keys.Concat(ErrorHandling.Unbreakable.Keys).Where(n => !names.Contains(n)).ToArray();
        Assert.True(unmapped.Length == 0, "constraints without an error in ErrorHandling.Constraints: " + string.Join(", ", unmapped));
        Assert.True(stale.Length == 0, "ErrorHandling names constraints the schema does not have: " + string.Join(", ", stale));
    }
}
