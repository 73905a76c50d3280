using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Blog.Api.Tests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace Blog.Api.Tests.Reliability;

/// <summary>
/// What one request holds in memory does not grow with what is stored: the lists without a
/// page size (an article's comments, the tags) and v1's bulk list are written as they are read.
/// Against the binary, with the largest data the limits allow, its peak memory (VmHWM) while
/// serving them stays under 64 MB above its idle RSS, and the answers are complete.
/// </summary>
public sealed class BoundedMemoryTests(ITestOutputHelper output)
{
    const long MaxGrowth = 64L * 1024 * 1024;  // above the idle RSS

    [Fact]
    public async Task The_largest_comment_tag_and_blog_lists_are_served_in_bounded_memory()
    {
        var (database, _) = await (await PostgresServer.Instance).CreateDatabaseAsync("memory");
        await using (var db = NpgsqlDataSource.Create(database))
        await using (var seed = db.CreateCommand("""
            INSERT INTO users (username, email, password_hash) VALUES ('writer', 'writer@example.com', 'x');
            INSERT INTO articles (slug, title, description, body, author_id)
            SELECT 'post-' || i, 'Post ' || i, 'd', repeat('b', 100000), 1 FROM generate_series(1, 100) AS i;
            INSERT INTO comments (article_id, author_id, body)
            SELECT 1, 1, repeat('c', 10000) FROM generate_series(1, 10000);
            INSERT INTO tags (name, uses) SELECT 'tag-' || i, 1 FROM generate_series(1, 100000) AS i;
            """))
        {
            seed.CommandTimeout = 300;
            await seed.ExecuteNonQueryAsync();
        }
        await using var service = await ServiceProcess.StartHealthyAsync(ServiceProcess.EnvironmentFor(database, Processes.FreePort()), TimeSpan.FromMinutes(2));
        var token = await TokenAsync(service.Client);
        (await service.Client.GetAsync("/api/articles?limit=1")).EnsureSuccessStatusCode();  // warm, but small
        var idle = await IdleResidentBytesAsync(service.Id);

        var comments = await ReadAsync(service.Client, "/api/articles/post-1/comments", null);
        var afterComments = PeakResidentBytes(service.Id);
        var tags = await ReadAsync(service.Client, "/api/tags", null);
        var afterTags = PeakResidentBytes(service.Id);
        var blogs = await ReadAsync(service.Client, "/api/v1/blog/bulk?limit=100", token);
        var growth = PeakResidentBytes(service.Id) - idle;
        output.WriteLine($"RSS idle {idle / 1048576.0:F1} MB; peak {afterComments / 1048576.0:F1} after the comments, {afterTags / 1048576.0:F1} after the tags, {(idle + growth) / 1048576.0:F1} after the blogs");

        Assert.Equal(10_000, comments.GetProperty("comments").GetArrayLength());
        Assert.Equal(100_000, tags.GetProperty("tags").GetArrayLength());
        Assert.Equal(100, blogs.GetProperty("blogs").GetArrayLength());
        Assert.All(blogs.GetProperty("blogs").EnumerateArray(), blog => Assert.Equal(100_000, blog.GetProperty("content").GetString()!.Length));
        output.WriteLine($"peak RSS {growth / 1048576.0:F1} MB above idle serving 100 MB of comments, 100,000 tags and 100 blogs of 100,000 characters");
        Assert.True(growth < MaxGrowth, $"peak RSS {growth / 1048576.0:F1} MB above idle");
    }

    static async Task<string> TokenAsync(HttpClient client)
    {
        using var reply = await client.PostAsync("/api/v1/user/signup",
            new StringContent("""{"email":"reader@example.com","password":"long enough password"}""", System.Text.Encoding.UTF8, "application/json"));
        return JsonDocument.Parse(await reply.Content.ReadAsStringAsync()).RootElement.GetProperty("jwt").GetString()!;
    }

    static async Task<JsonElement> ReadAsync(HttpClient client, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var reply = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
        await using var body = await reply.Content.ReadAsStreamAsync();
        return (await JsonDocument.ParseAsync(body)).RootElement.Clone();
    }

    /// <summary>RSS once the service has settled: IdleMemory returns start-up garbage 4 to 6 s into a quiet spell.</summary>
    static async Task<long> IdleResidentBytesAsync(int pid)
    {
        await Task.Delay(TimeSpan.FromSeconds(7));
        return ResidentBytes(pid, "VmRSS:");
    }

    static long PeakResidentBytes(int pid) => ResidentBytes(pid, "VmHWM:");

    static long ResidentBytes(int pid, string field) =>
        File.ReadLines($"/proc/{pid}/status").Where(l => l.StartsWith(field, StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024).Single();
}
