using Npgsql;

[module: Dapper.DapperAot]
[module: Dapper.SqlSyntax(Dapper.SqlSyntax.PostgreSql)]

namespace Blog.Api.Infrastructure;

public static class Database
{
    /// <summary>
    /// Seconds a statement may take. Every Dapper call passes it: Dapper.AOT sets a command's
    /// timeout to the call's commandTimeout argument, 0 (wait forever) when none is given,
    /// which would let a silent network hang a request until the client gives up.
    /// </summary>
    public const int CommandTimeout = 5;

    /// <summary>
    /// The one pooled data source of the process, built from DATABASE_URL. Settings that
    /// keep it correct behind PgBouncer in transaction mode (Neon's pooled endpoint) and
    /// cheap to open far from the database are set here, whatever the URL says.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string databaseUrl)
    {
        var settings = new NpgsqlConnectionStringBuilder(ToConnectionString(databaseUrl))
        {
            // No session state survives a transaction behind PgBouncer, so there is nothing
            // to reset; skipping DISCARD ALL also saves the server work on every request.
            NoResetOnClose = true,
            // Server-side prepared statements would outlive the transaction on a pooled
            // endpoint; 0 is Npgsql's default, stated here because it matters.
            MaxAutoPrepare = 0,
            // Kerberos is not used; probing for it loads libgssapi at the first connection
            // (absent in the image) and wastes part of every cold start.
            GssEncryptionMode = GssEncryptionMode.Disable,
        };
        // Bounded waits, so an unreachable or silent database costs a client a few seconds and
        // a 503, not a hang: connecting (Npgsql's default is 15 s), each statement (the
        // slowest is a few ms), and no wait for a cancellation the database cannot receive.
        if (settings.Timeout == 15) settings.Timeout = 3;
        if (settings.CommandTimeout == 30) settings.CommandTimeout = CommandTimeout;
        if (settings.CancellationTimeout == 2000) settings.CancellationTimeout = -1;
        // The slim builder with only what the statements use: built-in scalar types, text[]
        // (tag lists) and TLS (Neon requires it). Npgsql's other mappings (ranges, JSON, geometry,
        // network, full-text search, …) stay out of the binary: 2 MB less code and memory.
        var builder = new NpgsqlSlimDataSourceBuilder(settings.ConnectionString);
        builder.EnableArrays();
        builder.EnableTransportSecurity();
        // Only built-in types are used: skip the type-loading query on each new physical
        // connection, a round trip that would otherwise delay every cold start.
        builder.ConfigureTypeLoading(types => types.EnableTypeLoading(false));
        return builder.Build();
    }

    /// <summary>
    /// Accepts what Neon, Fly and Heroku hand out (<c>postgres://user:pass@host:port/db?sslmode=require</c>)
    /// and plain Npgsql keyword strings (<c>Host=…;Username=…</c>).
    /// </summary>
    public static string ToConnectionString(string databaseUrl)
    {
        if (!databaseUrl.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) &&
            !databaseUrl.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return new NpgsqlConnectionStringBuilder(databaseUrl).ConnectionString; // throws on junk
        }

        if (!Uri.TryCreate(databaseUrl, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException("DATABASE_URL is not a valid postgres:// URL.");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.DnsSafeHost,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
            Database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/')) is { Length: > 0 } db ? db : null,
        };
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':');
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0) builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
            switch (key.ToLowerInvariant())
            {
                case "sslmode":
                    builder.SslMode = value.ToLowerInvariant() switch
                    {
                        "disable" => SslMode.Disable,
                        "allow" => SslMode.Allow,
                        "prefer" => SslMode.Prefer,
                        "require" => SslMode.Require,
                        "verify-ca" => SslMode.VerifyCA,
                        "verify-full" => SslMode.VerifyFull,
                        _ => throw new FormatException($"DATABASE_URL: unknown sslmode '{value}'."),
                    };
                    break;
                case "channel_binding":
                    builder.ChannelBinding = value.ToLowerInvariant() switch
                    {
                        "disable" => ChannelBinding.Disable,
                        "prefer" => ChannelBinding.Prefer,
                        "require" => ChannelBinding.Require,
                        _ => throw new FormatException($"DATABASE_URL: unknown channel_binding '{value}'."),
                    };
                    break;
                case "application_name": builder.ApplicationName = value; break;
                case "connect_timeout": builder.Timeout = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "options": builder.Options = value; break;
                case "pgbouncer": break; // Prisma's hint that the endpoint is pooled; our settings are always pool-safe
                default: throw new FormatException($"DATABASE_URL: unsupported parameter '{key}'.");
            }
        }
        return builder.ConnectionString;
    }
}
