using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Blog.Api.Hosting;
using Blog.Api.Http;

namespace Blog.Api.Auth;

/// <summary>
/// Limits on sign-ups and sign-ins that every instance in every region shares: the counters
/// live in PostgreSQL (table sign_in_limits) and the sign-up and sign-in statements update
/// them themselves, in the same round trip.
///
/// - Per client network (an IPv4 address, an IPv6 /64, which one client can fill with
///   addresses): AUTH_RATE_LIMIT attempts a minute, sign-ups and sign-ins together.
/// - Per account: sign-ins slow down after <see cref="FailuresBeforeBackoff"/> failures in a
///   row (1 s, then doubling, at most <see cref="MaxBackoff"/>), and after
///   <see cref="MaxFailures"/> (NIST SP 800-63B §5.2.2) wait a day; a successful sign-in
///   starts the count again, so the owner is never locked out for good.
///
/// Whether a password was right is known only after the statement (the hash is checked
/// here), so every sign-in counts as a failure at first, and a success is taken back by the
/// next sign-in statement this instance sends (<see cref="TakeSucceeded"/>): no statement of
/// its own. Until then the owner's count is one too high.
/// </summary>
internal sealed class SignInLimits(Settings settings)
{
    public const int FailuresBeforeBackoff = 5;
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromMinutes(15);
    public const int MaxFailures = 100;
    public static readonly TimeSpan AfterMaxFailures = TimeSpan.FromDays(1);

    readonly ConcurrentQueue<string> succeeded = new();

    public int PerMinute => settings.SignInsPerMinute;

    /// <summary>
    /// The upsert of the client network's counter, as CTE <c>network</c>: whether this attempt
    /// is allowed and, when not, the moment it may try again. Parameters @network, @perMinute.
    /// </summary>
    public const string Network = """
        network AS (
            INSERT INTO sign_in_limits AS l (key, window_start, attempts)
            VALUES (@network, date_trunc('minute', now()), 1)
            ON CONFLICT (key) DO UPDATE SET
                attempts = CASE WHEN l.window_start = date_trunc('minute', now()) THEN l.attempts + 1 ELSE 1 END,
                window_start = date_trunc('minute', now())
            RETURNING attempts <= @perMinute AS allowed, window_start + interval '1 minute' AS retry_at
        )
        """;

    /// <summary>The key of the client's network: its IPv4 address, or the /64 of its IPv6 address.</summary>
    public string NetworkKey(HttpContext http)
    {
        var address = settings.TrustFlyClientIp && http.Request.Headers["Fly-Client-IP"] is [{ Length: > 0 } fly] && IPAddress.TryParse(fly, out var parsed)
            ? parsed
            : http.Connection.RemoteIpAddress;
        if (address is null) return "network:unknown";
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return "network:" + address;
        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return $"network:{new IPAddress(bytes)}/64";
    }

    /// <summary>Accounts whose sign-in succeeded since the last sign-in statement, one per line (null for none).</summary>
    public string? TakeSucceeded()
    {
        var keys = new List<string>();
        while (keys.Count < 100 && succeeded.TryDequeue(out var key)) keys.Add(key);
        return keys.Count == 0 ? null : string.Join('\n', keys);
    }

    /// <summary>Keeps accounts taken for a statement that did not run, for the next one.</summary>
    public void Keep(string? keys)
    {
        foreach (var key in keys?.Split('\n') ?? []) succeeded.Enqueue(key);
    }

    public void Succeeded(string accountKey) => succeeded.Enqueue(accountKey);

    /// <summary>429 with Retry-After, in the error shape.</summary>
    public static ApiError TooMany(int retryAfterSeconds)
    {
        Metrics.RateLimited.Add(1, new KeyValuePair<string, object?>("limit", "sign_in"));
        var seconds = Math.Max(1, retryAfterSeconds);
        return new ApiError(StatusCodes.Status429TooManyRequests, new Dictionary<string, string[]> { ["requests"] = [$"too many, try again in {seconds} seconds"] })
        {
            RetryAfter = seconds.ToString(CultureInfo.InvariantCulture),
        };
    }
}
