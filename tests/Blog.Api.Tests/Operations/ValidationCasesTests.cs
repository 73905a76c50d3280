using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Blog.Api.Tests.Infrastructure;

namespace Blog.Api.Tests.Operations;

/// <summary>
/// The server's verdict on tests/validation-cases.json, the table the npm package's zod
/// schemas are tested against too (src/common/test): front ends validate as the server does.
/// </summary>
public abstract class ValidationCasesTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task The_server_agrees_with_every_case_of_the_shared_table()
    {
        var table = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(ServiceProcess.RepositoryRoot, "tests", "validation-cases.json")))!;
        var user = await Register("cases");
        var mismatches = new List<string>();
        var count = 0;

        foreach (var item in table["cases"]!.AsArray())
        {
            var schema = item!["schema"]!.GetValue<string>();
            var valid = item["valid"]!.GetValue<bool>();
            var field = item["field"]?.GetValue<string>();
            var value = item["value"]!.ToJsonString();
            if (value.Contains("{blog}", StringComparison.Ordinal))
            {
                var blog = await Send(HttpMethod.Post, "/api/v1/blog", new { title = "t", content = "c" }, user.Token, "");
                value = value.Replace("{blog}", blog["id"].GetString(), StringComparison.Ordinal);
            }
            var slug = schema is "ArticleChanges" or "NewComment" ? (await CreateArticle(user, "Target")).GetProperty("slug").GetString() : null;
            var (method, path, envelope, success) = schema switch
            {
                "NewUser" => ("POST", "/api/users", "user", HttpStatusCode.Created),
                "LoginUser" => ("POST", "/api/users/login", "user", HttpStatusCode.Unauthorized),
                "UserChanges" => ("PUT", "/api/user", "user", HttpStatusCode.OK),
                "NewArticle" => ("POST", "/api/articles", "article", HttpStatusCode.Created),
                "ArticleChanges" => ("PUT", $"/api/articles/{slug}", "article", HttpStatusCode.OK),
                "NewComment" => ("POST", $"/api/articles/{slug}/comments", "comment", HttpStatusCode.Created),
                "SignupRequest" => ("POST", "/api/v1/user/signup", null, HttpStatusCode.OK),
                "SigninRequest" => ("POST", "/api/v1/user/signin", null, HttpStatusCode.Unauthorized),
                "CreateBlogRequest" => ("POST", "/api/v1/blog", null, HttpStatusCode.OK),
                "UpdateBlogRequest" => ("PUT", "/api/v1/blog", null, HttpStatusCode.OK),
                _ => throw new InvalidOperationException($"No endpoint for {schema} in this test"),
            };
            var body = envelope is null ? value : $"{{\"{envelope}\":{value}}}";
            var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation("Authorization", $"Token {user.Token}");
            var reply = await Send(request);
            count++;

            var verdict = valid
                ? reply.Status == success
                : (int)reply.Status == 422 && field is not null && reply.Json.GetProperty("errors").TryGetProperty(field, out _);
            if (!verdict) mismatches.Add($"{schema} {value[..Math.Min(value.Length, 80)]}: expected {(valid ? success.ToString() : $"422 on {field}")}, got {(int)reply.Status} {reply.Text[..Math.Min(reply.Text.Length, 150)]}");
        }

        Assert.True(count > 50, $"{count} cases");
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }
}

public sealed class ValidationCasesInProcess(InProcessApi api) : ValidationCasesTests(api), IClassFixture<InProcessApi>;
public sealed class ValidationCasesBinary(BinaryApi api) : ValidationCasesTests(api), IClassFixture<BinaryApi>;
