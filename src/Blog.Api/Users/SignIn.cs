using Blog.Api.Auth;
using Blog.Api.Data;
using Blog.Api.Http;
using Dapper;

namespace Blog.Api.Users;

/// <summary>Signing in with email and password, for both surfaces (/api/users/login, /api/v1/user/signin).</summary>
internal static class SignIn
{
    /// <summary>
    /// One statement: counts the attempt for the client's network and for the account
    /// (SignInLimits; successes reported by this instance since its last sign-in are taken
    /// back first), and returns the account's row unless a limit refuses the attempt.
    /// </summary>
    const string Statement = $"""
        WITH {SignInLimits.Network},
        given AS (
            SELECT 'account:' || lower(@email) AS account, string_to_array(@succeeded, E'\n') AS succeeded
        ), earlier AS (  -- the account's row as it was: a statement cannot see its own changes
            SELECT l.blocked_until FROM sign_in_limits l, given WHERE l.key = given.account AND l.key <> ALL (coalesce(given.succeeded, ARRAY[]::text[]))
        ), taken_back AS (
            UPDATE sign_in_limits l SET failures = 0, blocked_until = NULL
            FROM given WHERE l.key = ANY (given.succeeded) AND l.key <> given.account
        ), account AS (
            INSERT INTO sign_in_limits AS l (key, window_start, failures)
            SELECT given.account, now(), 1 FROM given WHERE (SELECT allowed FROM network)
            ON CONFLICT (key) DO UPDATE SET
                failures = CASE WHEN l.key = ANY (string_to_array(@succeeded, E'\n')) THEN 1
                                WHEN l.blocked_until > now() THEN l.failures
                                ELSE l.failures + 1 END,
                blocked_until = CASE WHEN l.key = ANY (string_to_array(@succeeded, E'\n')) THEN NULL
                                     WHEN l.blocked_until > now() THEN l.blocked_until
                                     WHEN l.failures + 1 >= @maxFailures THEN now() + @afterMaxFailures * interval '1 second'
                                     WHEN l.failures + 1 >= @failuresBeforeBackoff
                                     THEN now() + least(@maxBackoff, power(2, l.failures + 1 - @failuresBeforeBackoff)) * interval '1 second'
                                END,
                window_start = now()
        ), refused AS (
            SELECT CASE WHEN NOT network.allowed THEN network.retry_at
                        WHEN (SELECT blocked_until FROM earlier) > now() THEN (SELECT blocked_until FROM earlier)
                   END AS retry_at
            FROM network
        )
        SELECT given.account AS accountkey, ceil(extract(epoch FROM refused.retry_at - now()))::int AS retryafter,
               u.id, u.username, u.email, u.bio, u.image, u.password_hash AS passwordhash, u.token_version AS tokenversion
        FROM given CROSS JOIN refused
        LEFT JOIN users u ON refused.retry_at IS NULL AND lower(u.email) = lower(@email)
        """;

    /// <summary>The user these credentials belong to, or the 422, 429 or 401 to answer with.</summary>
    public static async Task<(SignInRow? User, ApiError? Error)> AttemptAsync(Db db, SignInLimits limits, HttpContext http, string? email, string? password)
    {
        email = email?.Trim();
        var check = new Validation();
        check.Required("email", email, Limits.Email);
        check.Required("password", password, Limits.PasswordMax);
        if (check.Failed) return (null, check.Error);

        var succeeded = limits.TakeSucceeded();
        SignInRow row;
        try
        {
            await using var connection = db.Write();
            row = await connection.QuerySingleAsync<SignInRow>(Statement, new
            {
                network = limits.NetworkKey(http),
                perMinute = limits.PerMinute,
                email,
                succeeded,
                failuresBeforeBackoff = SignInLimits.FailuresBeforeBackoff,
                maxBackoff = (int)SignInLimits.MaxBackoff.TotalSeconds,
                maxFailures = SignInLimits.MaxFailures,
                afterMaxFailures = (int)SignInLimits.AfterMaxFailures.TotalSeconds,
            });
        }
        catch
        {
            limits.Keep(succeeded);
            throw;
        }
        if (row.RetryAfter is { } seconds) return (null, SignInLimits.TooMany(seconds));
        if (!Passwords.Verify(row.PasswordHash, password!)) return (null, ApiError.BadCredentials);
        limits.Succeeded(row.AccountKey);
        return (row, null);
    }
}
