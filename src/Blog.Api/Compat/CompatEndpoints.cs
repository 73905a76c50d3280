using System.Security.Claims;
using System.Text;
using Blog.Api.Articles;
using Blog.Api.Auth;
using Blog.Api.Caching;
using Blog.Api.Data;
using Blog.Api.Docs;
using Blog.Api.Http;
using Blog.Api.Users;
using Dapper;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Blog.Api.Compat;

/// <summary>
/// The /api/v1 surface of the original Medium-clone front end, over the same users and
/// articles as the Conduit API: a blog is an article (content = body) and its id is the
/// article's public id; tokens are the same on both surfaces.
/// </summary>
internal static class CompatEndpoints
{
    public static void MapCompat(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/api/v1").WithTags("v1");

        v1.MapPost("/user/signup", Signup).WithName("V1Signup")
            .WithSummary("Sign up; the answer's jwt works on both surfaces").LimitedPerClient().ProducesErrors(409, 422);
        v1.MapPost("/user/signin", Signin).WithName("V1Signin")
            .WithSummary("Sign in with email and password").LimitedPerClient().ProducesErrors(401, 422);
        v1.MapPost("/blog", Create).WithName("V1CreateBlog")
            .WithSummary("Publish a blog (a Conduit article)").RequireUser().ProducesErrors(422);
        v1.MapPut("/blog", Update).WithName("V1UpdateBlog")
            .WithSummary("Change a blog's title or content (its author only)").RequireUser().ProducesErrors(403, 404, 422);
        v1.MapGet("/blog/bulk", List).WithName("V1ListBlogs").DocumentsPaging()
            .WithSummary("Blogs, newest first").RequireUser().ProducesErrors(422);
        v1.MapGet("/blog/{id}", Get).WithName("V1GetBlog").Documents(ParameterDoc.Uuid("id"))
            .WithSummary("One blog").RequireUser().ProducesErrors(404);
    }

    static async Task<Results<Ok<JwtResponse>, ApiError>> Signup(SignupRequest? request, Db db, Tokens tokens, SignInLimits limits, HttpContext http)
    {
        var (email, password, name) = (request?.Email?.Trim(), request?.Password, request?.Name?.Trim());
        var check = new Validation();
        check.Email("email", email);
        check.Password("password", password);
        if (check.Optional("name", name, Limits.Name) && name is not null && Validation.HasInvisibleControl(name)) check.Add("name", "is invalid");
        if (check.Failed) return check.Error;

        var hash = Passwords.Hash(password!);
        var username = UsernameFor(name, email!);
        await using var connection = db.Write();
        // Counted for the client's network (SignInLimits). A taken email is 409. A taken
        // username gets a random suffix; two sign-ups racing for one new username make the
        // loser insert nothing, and only then is there another round trip, with a fresh suffix.
        for (var attempt = 0; ; attempt++)
        {
            var row = await connection.QuerySingleAsync<RegisterRow>($"""
                WITH {SignInLimits.Network}, created AS (
                    INSERT INTO users (username, email, password_hash, name)
                    SELECT CASE WHEN @suffixed OR EXISTS (SELECT 1 FROM users WHERE lower(username) = lower(normalize(@username, NFKC)))
                                THEN normalize(@username, NFKC) || '-' || @suffix ELSE normalize(@username, NFKC) END,
                           @email, @hash, @name
                    WHERE (SELECT allowed FROM network) AND written()
                    ON CONFLICT DO NOTHING
                    RETURNING id, username, email, bio, image, token_version
                )
                {Registration.Answer}
                """, new
                {
                    network = limits.NetworkKey(http), perMinute = limits.PerMinute, username, suffixed = attempt > 0,
                    suffix = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 3), email, hash, name = Validation.NullIfBlank(name),
                });
            if (row.RetryAfter is { } seconds) return SignInLimits.TooMany(seconds);
            if (row.Id is { } id) return TypedResults.Ok(new JwtResponse(tokens.Issue(id, row.TokenVersion!.Value, Tokens.NewSession())));
            if (row.EmailTaken) return ApiError.Taken("email");
            if (attempt == 2) return ApiError.Taken("username");
        }
    }

    static async Task<Results<Ok<JwtResponse>, ApiError>> Signin(SigninRequest? request, Db db, Tokens tokens, SignInLimits limits, HttpContext http)
    {
        var (user, error) = await SignIn.AttemptAsync(db, limits, http, request?.Email, request?.Password);
        return error ?? (Results<Ok<JwtResponse>, ApiError>)TypedResults.Ok(new JwtResponse(tokens.Issue(user!.Id!.Value, user.TokenVersion!.Value, Tokens.NewSession())));
    }

    static async Task<Results<Ok<BlogIdResponse>, ApiError>> Create(CreateBlogRequest? request, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        var check = new Validation();
        check.Required("title", request?.Title, Limits.Title);
        check.Required("content", request?.Content, Limits.Body);
        if (check.Failed) return check.Error;

        await using var connection = db.Write();
        var created = await connection.QuerySingleAsync<BlogWritten>($"""
            {ArticleSql.Insert}
            RETURNING public_id AS id, publish_article_created(id, author_id, NULL) AS changes
            """,
            new { slug = Slugs.BaseFor(request!.Title!), title = request.Title, description = DescriptionOf(request.Content!), body = request.Content, me = principal.Id(), tokenVersion = principal.TokenVersion(), sessionId = principal.Session() });
        cache.Evict(created.Changes);
        return TypedResults.Ok(new BlogIdResponse(created.Id));
    }

    static async Task<Results<Ok<BlogIdResponse>, ApiError>> Update(UpdateBlogRequest? request, ClaimsPrincipal principal, Db db, EdgeCache cache)
    {
        var check = new Validation();
        Guid id = default;
        if (check.Required("id", request?.Id, 100) && !Guid.TryParse(request!.Id, out id)) check.Add("id", "is invalid");
        if (request?.Title.IsSet == true) check.Required("title", request.Title.Value, Limits.Title);
        if (request?.Content.IsSet == true) check.Required("content", request.Content.Value, Limits.Body);
        if (request?.ChangesNothing() != false) check.Add("blog", "can't be blank");
        if (check.Failed) return check.Error;

        await using var connection = db.Write();
        var outcome = await connection.QuerySingleOrDefaultAsync<WriteOutcome>($"""
            WITH target AS (
                SELECT id, author_id, tag_list FROM articles WHERE public_id = @id
            ), updated AS (
                {ArticleSql.Update}
                RETURNING {ArticleSql.PublishUpdated("NULL")}
            )
            SELECT author_id = @me AS mine, (SELECT changes FROM updated) AS changes FROM target
            """,
            new
            {
                id,
                me = principal.Id(),
                tokenVersion = principal.TokenVersion(),
                sessionId = principal.Session(),
                title = request!.Title.Value,
                newSlug = request.Title.Value is { } title ? Slugs.BaseFor(title) : null,
                body = request.Content.Value,
                description = request.Content.Value is { } content ? DescriptionOf(content) : null,
            });
        cache.Evict(outcome?.Changes);
        return outcome?.Mine switch
        {
            null => ApiError.NotFound("blog"),
            false => ApiError.Forbidden("blog"),
            true => TypedResults.Ok(new BlogIdResponse(id)),
        };
    }

    static async Task<Results<Ok<BlogsResponse>, ApiError>> List(string? limit, string? offset, Db db, HttpContext http)
    {
        var check = new Validation();
        var page = Paging.From(check, limit, offset);
        if (check.Failed) return check.Error;

        // Written as read (Streaming): a page of 100 whole blogs can be 20 MB of text.
        var connection = db.Read();
        var rows = await Streaming.StartAsync(http, connection, connection.QueryUnbufferedAsync<BlogRow>("""
            SELECT a.public_id AS id, a.title, a.body AS content, coalesce(u.name, u.username) AS authorname
            FROM articles a JOIN users u ON u.id = a.author_id
            ORDER BY a.id DESC
            LIMIT @limit OFFSET @offset
            """, new { page.Limit, page.Offset }));
        return TypedResults.Ok(new BlogsResponse((rows ?? AsyncEnumerable.Empty<BlogRow>()).Select(row => row.ToBlog())));
    }

    static async Task<Results<Ok<BlogResponse>, ApiError>> Get(string id, Db db)
    {
        if (!Guid.TryParse(id, out var publicId)) return ApiError.NotFound("blog");  // names no blog
        await using var connection = db.Read();
        var blog = await connection.QuerySingleOrDefaultAsync<BlogRow>("""
            SELECT a.public_id AS id, a.title, a.body AS content, coalesce(u.name, u.username) AS authorname
            FROM articles a JOIN users u ON u.id = a.author_id
            WHERE a.public_id = @publicId
            """, new { publicId });
        return blog is null ? ApiError.NotFound("blog") : TypedResults.Ok(new BlogResponse(blog.ToBlog()));
    }

    /// <summary>
    /// A username for a v1 sign-up, which names no username: from the display name, else the
    /// email's local part, reduced to what usernames allow ("Ada Lovelace" → "ada-lovelace").
    /// </summary>
    internal static string UsernameFor(string? name, string email)
    {
        var source = string.IsNullOrWhiteSpace(name) ? email[..email.IndexOf('@')] : name;
        var username = new StringBuilder();
        foreach (var c in source.Trim().ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '_' or '.') username.Append(c);
            else if (username.Length > 0 && username[^1] != '-') username.Append('-');
            if (username.Length >= Limits.Username - 7) break;  // room for a "-xxxxxx" suffix
        }
        var result = username.ToString().Trim('-', '.');
        // A name whose letters mix scripts makes no username (Scripts): the email's, else "writer".
        if (result.Length > 0 && !Scripts.IsSingleScript(result)) return name is null ? "writer" : UsernameFor(null, email);
        return result.Length == 0 ? "writer" : result;
    }

    /// <summary>A Conduit description for v1 content, which has none: its opening words.</summary>
    internal static string DescriptionOf(string content)
    {
        var words = string.Join(' ', content.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        var length = 160;
        if (words.Length <= length) return words;
        if (char.IsHighSurrogate(words[length - 1])) length--;  // never cut a character in half
        return words[..length].TrimEnd() + "…";
    }

}
