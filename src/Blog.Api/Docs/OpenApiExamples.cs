using System.Text.Json.Nodes;
using Blog.Api.Articles;
using Blog.Api.Comments;
using Blog.Api.Compat;
using Blog.Api.Users;

namespace Blog.Api.Docs;

/// <summary>
/// The groups of the API in the order the docs page shows them, and an example body for
/// every request, so "try it" starts from something that works.
/// </summary>
internal static class OpenApiExamples
{
    public static readonly (string Name, string Description)[] Groups =
    [
        ("Users", "Sign up, log in, and read or change the signed-in user. Log in, copy the `token` from the answer and paste it under Authentication to call the endpoints marked with a lock."),
        ("Profiles", "Public profiles, and following other writers (which fills your feed)."),
        ("Articles", "Publishing, reading, changing and favoriting articles; the global list with its filters, and the feed of the writers you follow."),
        ("Comments", "Comments on an article, oldest first; only their author deletes them."),
        ("Tags", "The tags in use, most used first."),
        ("v1", "The smaller API of the original Medium-clone front end, over the same users and articles: a blog is an article, `content` is its body. `Authorization` holds the bare token or `Bearer <token>`."),
        ("Operations", "Liveness and readiness probes for the platform (Fly.io health checks)."),
    ];

    static readonly Dictionary<Type, string> Bodies = new()
    {
        [typeof(RegisterRequest)] = """{"user":{"username":"jake","email":"jake@jake.jake","password":"jakejake"}}""",
        [typeof(LoginRequest)] = """{"user":{"email":"ada@example.com","password":"demo-password"}}""",
        [typeof(UpdateUserRequest)] = """{"user":{"bio":"I like to skateboard","image":"https://i.stack.imgur.com/xHWG8.jpg"}}""",
        [typeof(NewArticleRequest)] = """{"article":{"title":"How to train your dragon","description":"Ever wonder how?","body":"You have to believe","tagList":["reactjs","angularjs","dragons"]}}""",
        [typeof(UpdateArticleRequest)] = """{"article":{"title":"Did you train your dragon?"}}""",
        [typeof(NewCommentRequest)] = """{"comment":{"body":"Thank you so much!"}}""",
        [typeof(SignupRequest)] = """{"email":"jane@example.com","password":"a long passphrase","name":"Jane Writer"}""",
        [typeof(SigninRequest)] = """{"email":"ada@example.com","password":"demo-password"}""",
        [typeof(CreateBlogRequest)] = """{"title":"My first blog","content":"Hello, world."}""",
        [typeof(UpdateBlogRequest)] = """{"id":"3fa85f64-5717-4562-b3fc-2c963f66afa6","title":"My first blog, edited"}""",
    };

    public static JsonNode? For(Type type) => Bodies.TryGetValue(type, out var json) ? JsonNode.Parse(json) : null;
}
