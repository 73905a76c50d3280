using Npgsql;

[module: Dapper.DapperAot]
[module: Dapper.SqlSyntax(Dapper.SqlSyntax.PostgreSql)]
[module: Dapper.CommandFactory<Blog.Api.Data.RequestCommands<object>>]  // every statement ends with its request

namespace Blog.Api.Data;

internal static class Database
{
    /// <summary>
    /// Seconds a statement sent outside a request may take (readiness checks); the statements of
    /// a request share its deadline (<see cref="RequestCommands{T}"/>).
    /// </summary>
    public const int CommandTimeout = 5;

    /// <summary>
    /// The statement timeout of the sources the requests use: none, the one Dapper.AOT gives
    /// each command, since a request's statements share its deadline (<see cref="RequestCommands{T}"/>).
    /// Npgsql sets the socket's timeouts (a system call each) whenever a command's timeout differs
    /// from its connection's, and again as the connection goes back to the pool: with 5 here, four
    /// system calls a request. A statement of their own on these sources sets its timeout.
    /// </summary>
    public const int RequestCommandTimeout = 0;

    /// <summary>
    /// The most connections a pool opens (DATABASE_POOL_SIZE), where Npgsql's default is 100.
    /// More connections than the database has cores run no faster, and a burst that grows the
    /// pool opens connections while the database is busiest: each then took 1 to 2 s here, and
    /// the requests waiting on them were the list's p99 (about 1 s at 32 clients on 2 cores,
    /// 15 to 23 ms with 16 or 8 connections, and more throughput: README, The latency tail).
    /// Far from the database a connection waits on the network most of the time, so 16 serve
    /// 400 uncached requests a second at 40 ms; raise it there if the database has room.
    /// </summary>
    public const int PoolSize = 16;

    /// <summary>
    /// The one pooled data source of the process, built from DATABASE_URL. Settings that
    /// keep it correct behind PgBouncer in transaction mode (Neon's pooled endpoint) and
    /// cheap to open far from the database are set here, whatever the URL says. Waits the URL
    /// names explicitly are kept; the defaults are shortened (<paramref name="commandTimeout"/>
    /// seconds per statement, 0 for none). With <paramref name="prepare"/>, a statement is
    /// prepared on its second use on a connection (Db says why and when not).
    /// <paramref name="adjust"/> changes the settings before those defaults (the cache's listener, the replica); <paramref name="name"/>
    /// names the pool in metrics and traces.
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(
        string databaseUrl, int commandTimeout = CommandTimeout, bool prepare = false, Action<NpgsqlConnectionStringBuilder>? adjust = null,
        string name = "primary", int poolSize = PoolSize)
    {
        var settings = new NpgsqlConnectionStringBuilder(DatabaseUrl.ToConnectionString(databaseUrl))
        {
            // No session state survives a transaction behind PgBouncer, so there is nothing
            // to reset; skipping DISCARD ALL also saves the server work on every request.
            NoResetOnClose = true,
            // Protocol-level prepared statements, which PgBouncer 1.21+ keeps across transactions;
            // the service has about 40 statements, so all of them fit.
            MaxAutoPrepare = prepare ? 64 : 0,
            AutoPrepareMinUsages = 2,
            // Kerberos is not used; probing for it loads libgssapi at the first connection
            // (absent in the image) and wastes part of every cold start.
            GssEncryptionMode = GssEncryptionMode.Disable,
            MaxPoolSize = poolSize,
        };
        // Bounded waits, so an unreachable or silent database costs a client a few seconds and
        // a 503, not a hang: connecting (Npgsql's default is 15 s), each statement (the
        // slowest is a few ms), and no wait for a cancellation the database cannot receive.
        adjust?.Invoke(settings);  // before the defaults below, so it can set its own where the URL did not
        if (!settings.ShouldSerialize("Timeout")) settings.Timeout = 3;
        if (!settings.ShouldSerialize("Command Timeout")) settings.CommandTimeout = commandTimeout;
        if (!settings.ShouldSerialize("Cancellation Timeout")) settings.CancellationTimeout = -1;
        // The slim builder with only what the statements use: built-in scalar types, text[]
        // (tag lists) and TLS (Neon requires it). Npgsql's other mappings (ranges, JSON, geometry,
        // network, full-text search, …) stay out of the binary: 2 MB less code and memory.
        // The name is the pool's in metrics and traces (else the connection string, which is long).
        var builder = new NpgsqlSlimDataSourceBuilder(settings.ConnectionString) { Name = name };
        builder.EnableArrays();
        builder.EnableTransportSecurity();
        // Only built-in types are used: skip the type-loading query on each new physical
        // connection, a round trip that would otherwise delay every cold start.
        builder.ConfigureTypeLoading(types => types.EnableTypeLoading(false));
        return builder.Build();
    }
}
