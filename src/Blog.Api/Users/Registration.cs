namespace Blog.Api.Users;

/// <summary>What both surfaces' sign-ups share.</summary>
internal static class Registration
{
    /// <summary>
    /// The end of a sign-up statement, after its CTEs <c>network</c> (SignInLimits.Network) and
    /// <c>created</c> (the insert): one <see cref="RegisterRow"/>, the seconds to wait when the
    /// network's limit refused it, whether <c>@email</c> is taken (as of now, so that a sign-up
    /// that lost a race for it says so: migration 0010), and the user created, if any.
    /// </summary>
    public const string Answer = """
        SELECT CASE WHEN n.allowed THEN NULL ELSE ceil(extract(epoch FROM n.retry_at - now()))::int END AS retryafter,
               email_taken(@email) AS emailtaken,
               c.id, c.username, c.email, c.bio, c.image, c.token_version AS tokenversion
        FROM network n LEFT JOIN created c ON true
        """;
}
