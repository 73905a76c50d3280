using System.Globalization;
using System.Text.Json;
using Blog.Api.Articles;
using Blog.Api.Data;
using Npgsql;
using NpgsqlTypes;

// bench/run's pgbench ceiling runs the service's own list statement: this prints it.
if (args is ["--list-sql"])
{
    Console.Write(ArticleLists.ListSql(tag: false, author: false, favorited: false));  // the statement alone (pgbench runs it with constants)
    return;
}

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(int.Parse(Environment.GetEnvironmentVariable("PORT") ?? "8080", CultureInfo.InvariantCulture)));
var app = builder.Build();
// Prepared as the service prepares them, unless PREPARED_STATEMENTS=off (bench/run measures both).
// The service's pool size too (DATABASE_POOL_SIZE, else its default).
var db = Database.CreateDataSource(Environment.GetEnvironmentVariable("DATABASE_URL") ?? throw new InvalidOperationException("DATABASE_URL"),
    prepare: Environment.GetEnvironmentVariable("PREPARED_STATEMENTS") != "off",
    poolSize: int.TryParse(Environment.GetEnvironmentVariable("DATABASE_POOL_SIZE"), out var poolSize) ? poolSize : Database.PoolSize);

app.MapGet("/api/articles", async (HttpContext context) =>
{
    var limit = int.TryParse(context.Request.Query["limit"], out var l) ? l : 20;
    var offset = int.TryParse(context.Request.Query["offset"], out var o) ? o : 0;
    await using var command = db.CreateCommand(ArticleLists.Sent(ArticleLists.ListSql(tag: false, author: false, favorited: false)));
    command.Parameters.Add(new NpgsqlParameter("tag", NpgsqlDbType.Text) { Value = DBNull.Value });
    command.Parameters.Add(new NpgsqlParameter("author", NpgsqlDbType.Text) { Value = DBNull.Value });
    command.Parameters.Add(new NpgsqlParameter("favorited", NpgsqlDbType.Text) { Value = DBNull.Value });
    command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
    command.Parameters.Add(new NpgsqlParameter<int>("offset", offset));
    command.Parameters.Add(new NpgsqlParameter("me", NpgsqlDbType.Bigint) { Value = DBNull.Value });
    command.Parameters.Add(new NpgsqlParameter<int>("tokenVersion", 1));
    command.Parameters.Add(new NpgsqlParameter("sessionId", NpgsqlDbType.Text) { Value = DBNull.Value });
    await using var reader = await command.ExecuteReaderAsync(System.Data.CommandBehavior.SequentialAccess);

    context.Response.ContentType = "application/json; charset=utf-8";
    await using var json = new Utf8JsonWriter(context.Response.BodyWriter);
    json.WriteStartObject();
    json.WriteStartArray("articles");
    long total = 0;
    var date = new byte[24];
    while (await reader.ReadAsync())
    {
        // Columns in the statement's order: articlescount, outsidepage, id, authorid (the edge
        // cache's, not answered), slug, title, description, taglist, createdat, updatedat,
        // authorusername, authorbio, authorimage, authorfollowing, body, favorited, favoritescount.
        total = reader.GetInt64(0);
        if (reader.GetBoolean(1)) continue;
        json.WriteStartObject();
        json.WriteString("slug", reader.GetString(4));
        json.WriteString("title", reader.GetString(5));
        json.WriteString("description", reader.GetString(6));
        json.WriteStartArray("tagList");
        foreach (var tag in reader.GetFieldValue<string[]>(7)) json.WriteStringValue(tag);
        json.WriteEndArray();
        WriteDate(json, "createdAt", reader.GetDateTime(8), date);
        WriteDate(json, "updatedAt", reader.GetDateTime(9), date);
        var (username, bio, image, following) = (reader.GetString(10), reader.IsDBNull(11) ? null : reader.GetString(11), reader.IsDBNull(12) ? null : reader.GetString(12), reader.GetBoolean(13));
        json.WriteBoolean("favorited", reader.GetBoolean(15));
        json.WriteNumber("favoritesCount", reader.GetInt64(16));
        json.WriteStartObject("author");
        json.WriteString("username", username);
        json.WriteString("bio", bio);
        json.WriteString("image", image);
        json.WriteBoolean("following", following);
        json.WriteEndObject();
        json.WriteEndObject();
    }
    json.WriteEndArray();
    json.WriteNumber("articlesCount", total);
    json.WriteEndObject();
    await json.FlushAsync();
});

app.Run();

static void WriteDate(Utf8JsonWriter json, string name, DateTime value, byte[] buffer)
{
    value.TryFormat(buffer, out var written, "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture);
    json.WriteString(name, buffer.AsSpan(0, written));
}
