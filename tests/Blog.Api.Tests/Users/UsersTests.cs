using System.Net;
using Blog.Api.Tests.Infrastructure;
using Dapper;

namespace Blog.Api.Tests.Users;

public abstract class UsersTests(ApiFixture api) : ApiTests(api)
{
    [Fact]
    public async Task Register_answers_201_with_the_user_and_a_working_token()
    {
        var reply = await Post("/api/users", new { user = new { username = "Jacob", email = "jake@jake.jake", password = "jakejake" } });

        reply.Is(HttpStatusCode.Created).TookRoundTrips(1);
        var user = reply["user"];
        Assert.Equal("jake@jake.jake", user.GetProperty("email").GetString());
        Assert.Equal("Jacob", user.GetProperty("username").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, user.GetProperty("bio").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, user.GetProperty("image").ValueKind);
        var me = await Get("/api/user", user.GetProperty("token").GetString());
        me.Is(HttpStatusCode.OK);
        Assert.Equal("Jacob", me["user"].GetProperty("username").GetString());
    }

    [Theory]
    [InlineData("username")]
    [InlineData("email")]
    [InlineData("password")]
    public async Task Register_without_a_field_is_422_cant_be_blank(string missing)
    {
        var fields = new Dictionary<string, string?> { ["username"] = "someone", ["email"] = "someone@example.com", ["password"] = "long enough" };
        fields.Remove(missing);
        (await Post("/api/users", new { user = fields })).IsError(422, missing, "can't be blank").TookRoundTrips(0);

        fields[missing] = "   ";
        (await Post("/api/users", new { user = fields })).IsError(422, missing, "can't be blank");

        fields[missing] = null;
        (await Post("/api/users", new { user = fields })).IsError(422, missing, "can't be blank");
        await AssertNoUser("someone");
    }

    [Fact]
    public async Task Register_with_an_empty_body_names_every_missing_field()
    {
        var reply = await Post("/api/users", new { });
        reply.IsError(422, "username", "can't be blank").IsError(422, "email", "can't be blank").IsError(422, "password", "can't be blank");
    }

    [Theory]
    [InlineData("plainaddress")]
    [InlineData("two@@example.com")]
    [InlineData("no-domain-dot@example")]
    [InlineData("spaces in@example.com")]
    public async Task Register_with_a_malformed_email_is_422_is_invalid(string email)
    {
        (await Post("/api/users", new { user = new { username = "mailer", email, password = "long enough" } }))
            .IsError(422, "email", "is invalid");
        await AssertNoUser("mailer");
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("slash/y")]
    [InlineData("q?x")]
    public async Task Register_with_a_username_unfit_for_urls_is_422(string username)
    {
        (await Post("/api/users", new { user = new { username, email = "url@example.com", password = "long enough" } }))
            .IsError(422, "username", "is invalid");
    }

    [Fact]
    public async Task Passwords_follow_NIST_length_rules_without_composition_rules()
    {
        (await Post("/api/users", new { user = new { username = "shorty", email = "shorty@example.com", password = "1234567" } }))
            .IsError(422, "password", "is too short (minimum is 8 characters)");
        (await Post("/api/users", new { user = new { username = "longy", email = "longy@example.com", password = new string('x', 257) } }))
            .IsError(422, "password", "is too long (maximum is 256 characters)");

        // 64 characters with spaces and non-ASCII letters, all lower case: accepted, and it logs in.
        var passphrase = "correct horse battery staple — überall ñandú 🐎 ".PadRight(64, 'z');
        (await Post("/api/users", new { user = new { username = "phrase", email = "phrase@example.com", password = passphrase } })).Is(HttpStatusCode.Created);
        (await Post("/api/users/login", new { user = new { email = "phrase@example.com", password = passphrase } })).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task A_taken_username_or_email_is_409_whatever_its_case()
    {
        var taken = await Register();

        (await Post("/api/users", new { user = new { username = taken.Username.ToUpperInvariant(), email = "other@example.com", password = "long enough" } }))
            .IsError(409, "username", "has already been taken").TookRoundTrips(1);
        (await Post("/api/users", new { user = new { username = "different", email = taken.Email.ToUpperInvariant(), password = "long enough" } }))
            .IsError(409, "email", "has already been taken");
        await AssertNoUser("different");
    }

    [Fact]
    public async Task Twenty_registrations_racing_for_one_username_give_one_201_and_nineteen_409()
    {
        var replies = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Post("/api/users", new { user = new { username = "racer", email = $"racer{i}@example.com", password = "long enough" } })));

        Assert.Single(replies, r => r.Status == HttpStatusCode.Created);
        Assert.All(replies.Where(r => r.Status != HttpStatusCode.Created), r => r.IsError(409, "username", "has already been taken"));
        await using var connection = await Api.Db.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM users WHERE lower(username) = 'racer'"));
    }

    [Fact]
    public async Task Twenty_registrations_racing_for_one_email_give_one_201_and_nineteen_409()
    {
        var replies = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            Post("/api/users", new { user = new { username = $"racer{i}", email = i % 2 == 0 ? "race@example.com" : "RACE@example.com", password = "long enough" } })));

        Assert.Single(replies, r => r.Status == HttpStatusCode.Created);
        Assert.All(replies.Where(r => r.Status != HttpStatusCode.Created), r => r.IsError(409, "email", "has already been taken"));
        await using var connection = await Api.Db.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM users"));
    }

    [Fact]
    public async Task A_registration_that_waited_for_another_to_commit_its_email_names_the_email()
    {
        // The race above, made certain: another sign-up holds the email, uncommitted, while this
        // one arrives; this one's insert waits on it, and names the email once it commits.
        await using var other = await Api.Db.OpenConnectionAsync();
        await using var transaction = await other.BeginTransactionAsync();
        await other.ExecuteAsync("INSERT INTO users (username, email, password_hash) VALUES ('first', 'waited@example.com', 'x')", transaction: transaction);

        var reply = Post("/api/users", new { user = new { username = "second", email = "WAITED@example.com", password = "long enough" } });
        await using var watcher = await Api.Db.OpenConnectionAsync();
        while (!reply.IsCompleted && !await watcher.ExecuteScalarAsync<bool>(
                   "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')")) await Task.Delay(20);
        Assert.False(reply.IsCompleted, "the registration should wait for the uncommitted one");
        await transaction.CommitAsync();

        (await reply).IsError(409, "email", "has already been taken");
        await AssertNoUser("second");
    }

    [Fact]
    public async Task Malformed_JSON_is_422_body_is_invalid_and_a_wrong_type_names_the_field()
    {
        (await SendRaw(HttpMethod.Post, "/api/users", "{\"user\":{\"username\":"u8.ToArray())).IsError(422, "body", "is invalid");
        (await SendRaw(HttpMethod.Post, "/api/users", "{\"user\":{\"username\":42,\"email\":\"n@example.com\",\"password\":\"long enough\"}}"u8.ToArray()))
            .IsError(422, "username", "is invalid");
        (await SendRaw(HttpMethod.Post, "/api/users", "{\"user\":[]}"u8.ToArray())).IsError(422, "user", "is invalid");
        (await SendRaw(HttpMethod.Post, "/api/users", "not json"u8.ToArray(), "text/plain")).IsClientErrorInShape();
    }

    [Fact]
    public async Task Login_answers_the_user_with_a_token_in_one_round_trip()
    {
        var user = await Register();

        var reply = await Post("/api/users/login", new { user = new { email = user.Email.ToUpperInvariant(), password = user.Password } });

        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal(user.Username, reply["user"].GetProperty("username").GetString());
        (await Get("/api/user", reply["user"].GetProperty("token").GetString())).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Login_with_a_wrong_password_or_unknown_email_is_401_without_saying_which()
    {
        var user = await Register();
        (await Post("/api/users/login", new { user = new { email = user.Email, password = "wrong password" } }))
            .IsError(401, "credentials", "invalid").TookRoundTrips(1);
        (await Post("/api/users/login", new { user = new { email = "nobody@example.com", password = user.Password } }))
            .IsError(401, "credentials", "invalid");
    }

    [Fact]
    public async Task Login_with_blank_fields_is_422()
    {
        (await Post("/api/users/login", new { user = new { email = "", password = "x" } })).IsError(422, "email", "can't be blank").TookRoundTrips(0);
        (await Post("/api/users/login", new { user = new { email = "a@example.com" } })).IsError(422, "password", "can't be blank");
    }

    [Theory]
    [InlineData("Token")]
    [InlineData("Bearer")]
    [InlineData("")]
    public async Task The_current_user_accepts_Token_Bearer_and_bare_tokens(string scheme)
    {
        var user = await Register();
        var reply = await Send(HttpMethod.Get, "/api/user", null, user.Token, scheme);
        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        Assert.Equal(user.Email, reply["user"].GetProperty("email").GetString());
        Assert.Equal(user.Token, reply["user"].GetProperty("token").GetString());
    }

    [Fact]
    public async Task The_current_user_without_a_token_is_401_is_missing()
    {
        (await Get("/api/user")).IsError(401, "token", "is missing").TookRoundTrips(0);
    }

    [Theory]
    [InlineData("Token not-a-jwt")]
    [InlineData("Token ")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Token eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiIxIn0.")]
    public async Task A_bad_token_is_401_is_invalid(string header)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/user");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        (await Send(request)).IsError(401, "token", "is invalid").TookRoundTrips(0);
    }

    [Fact]
    public async Task A_tampered_token_is_401_is_invalid()
    {
        var user = await Register();
        var parts = user.Token.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(parts[1].PadRight((parts[1].Length + 3) / 4 * 4, '=').Replace('-', '+').Replace('_', '/')));
        var forged = payload.Replace("\"sub\":\"", "\"sub\":\"1");
        parts[1] = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(forged)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        (await Get("/api/user", string.Join('.', parts))).IsError(401, "token", "is invalid");
    }

    [Fact]
    public async Task Update_changes_the_given_fields_and_returns_a_fresh_token()
    {
        var user = await Register();

        var reply = await Put("/api/user", new { user = new { bio = "I like to skateboard", image = "https://i.stack.imgur.com/xHWG8.jpg" } }, user.Token);

        reply.Is(HttpStatusCode.OK).TookRoundTrips(1);
        var updated = reply["user"];
        Assert.Equal("I like to skateboard", updated.GetProperty("bio").GetString());
        Assert.Equal("https://i.stack.imgur.com/xHWG8.jpg", updated.GetProperty("image").GetString());
        Assert.Equal(user.Username, updated.GetProperty("username").GetString());
        Assert.Equal(user.Email, updated.GetProperty("email").GetString());
        (await Get("/api/user", updated.GetProperty("token").GetString())).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Update_can_change_username_email_and_password()
    {
        var user = await Register();
        var username = user.Username + "x";

        var changed = await Put("/api/user", new { user = new { username, email = "new-" + user.Email, password = "a brand new password" } }, user.Token);
        changed.Is(HttpStatusCode.OK);

        (await Post("/api/users/login", new { user = new { email = "new-" + user.Email, password = "a brand new password" } })).Is(HttpStatusCode.OK);
        (await Post("/api/users/login", new { user = new { email = "new-" + user.Email, password = user.Password } })).IsError(401, "credentials", "invalid");
        var fresh = changed["user"].GetProperty("token").GetString();
        Assert.Equal(username, (await Get("/api/user", fresh))["user"].GetProperty("username").GetString());
    }

    [Fact]
    public async Task Update_clears_bio_and_image_with_null_or_empty()
    {
        var user = await Register();
        await Put("/api/user", new { user = new { bio = "bio", image = "https://example.com/me.png" } }, user.Token);

        var cleared = await Put("/api/user", new { user = new { bio = (string?)null, image = "" } }, user.Token);

        cleared.Is(HttpStatusCode.OK);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, cleared["user"].GetProperty("bio").ValueKind);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, cleared["user"].GetProperty("image").ValueKind);
    }

    [Theory]
    [InlineData("email")]
    [InlineData("username")]
    [InlineData("password")]
    public async Task Update_cannot_blank_email_username_or_password(string field)
    {
        var user = await Register();
        (await Put("/api/user", new { user = new Dictionary<string, string?> { [field] = "" } }, user.Token))
            .IsError(422, field, "can't be blank").TookRoundTrips(0);
        (await Put("/api/user", new { user = new Dictionary<string, string?> { [field] = null } }, user.Token))
            .IsError(422, field, "can't be blank");
        (await Post("/api/users/login", new { user = new { email = user.Email, password = user.Password } })).Is(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Update_to_a_taken_username_is_409_and_changes_nothing()
    {
        var first = await Register();
        var second = await Register();

        (await Put("/api/user", new { user = new { username = first.Username, bio = "lost?" } }, second.Token))
            .IsError(409, "username", "has already been taken");

        var me = await Get("/api/user", second.Token);
        Assert.Equal(second.Username, me["user"].GetProperty("username").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, me["user"].GetProperty("bio").ValueKind);
    }

    [Fact]
    public async Task Update_rejects_an_image_that_is_not_a_web_url_and_an_overlong_bio()
    {
        var user = await Register();
        (await Put("/api/user", new { user = new { image = "javascript:alert(1)" } }, user.Token)).IsError(422, "image", "is invalid");
        (await Put("/api/user", new { user = new { bio = new string('b', 2001) } }, user.Token)).IsError(422, "bio", "is too long (maximum is 2000 characters)");
    }

    [Fact]
    public async Task An_update_with_nothing_to_change_is_422()
    {
        var user = await Register();
        (await Put("/api/user", new { user = new { } }, user.Token)).IsError(422, "user", "can't be blank").TookRoundTrips(0);
        (await Put("/api/user", new { }, user.Token)).IsError(422, "user", "can't be blank");
        (await Put("/api/user", new { user = new { token = user.Token } }, user.Token)).IsError(422, "user", "can't be blank");
    }

    [Fact]
    public async Task Update_without_a_token_is_401()
    {
        (await Put("/api/user", new { user = new { bio = "x" } })).IsError(401, "token", "is missing");
    }

    async Task AssertNoUser(string username)
    {
        await using var connection = await Api.Db.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>("SELECT count(*) FROM users WHERE lower(username) = lower(@username)", new { username }));
    }

    [Fact]
    public async Task Usernames_are_stored_in_NFKC_form_and_unique_in_it()
    {
        var fullwidth = await Post("/api/users", new { user = new { username = "ａｌｉｃｅ", email = "alice@example.com", password = "long enough password" } });
        fullwidth.Is(HttpStatusCode.Created).TookRoundTrips(1);
        Assert.Equal("alice", fullwidth["user"].GetProperty("username").GetString());

        (await Post("/api/users", new { user = new { username = "Alice", email = "other@example.com", password = "long enough password" } }))
            .IsError(409, "username", "has already been taken");
        Assert.Equal("alice", (await Get("/api/profiles/%EF%BD%81%EF%BD%8C%EF%BD%89%EF%BD%83%EF%BD%85"))["profile"].GetProperty("username").GetString());
    }

    [Theory]
    [InlineData("\u0430lice")]        // a Cyrillic а among Latin letters
    [InlineData("p\u0430ypal")]
    [InlineData("\u03B1lpha")]        // a Greek α
    [InlineData("ab\u202Ecd")]        // a right-to-left override
    [InlineData("ab\u200Bcd")]        // a zero-width space
    public async Task A_username_that_could_pass_for_another_is_422(string escaped)
    {
        var username = System.Text.RegularExpressions.Regex.Unescape(escaped);
        (await Post("/api/users", new { user = new { username, email = "x@example.com", password = "long enough password" } }))
            .IsError(422, "username", "is invalid").TookRoundTrips(0);
        var user = await Register();
        (await Put("/api/user", new { user = new { username } }, user.Token)).IsError(422, "username", "is invalid");
    }

    [Theory]
    [InlineData("日本語ユーザー")]      // Han and Katakana, one Japanese name
    [InlineData("한국어")]
    [InlineData("ελληνικά")]
    [InlineData("taro山田")]           // Latin with Han
    [InlineData("Ωμέγα2")]
    public async Task A_username_in_one_script_is_welcome(string username)
    {
        var reply = await Post("/api/users", new { user = new { username, email = "x@example.com", password = "long enough password" } });
        reply.Is(HttpStatusCode.Created);
        Assert.Equal(username.Normalize(System.Text.NormalizationForm.FormKC), reply["user"].GetProperty("username").GetString());
    }
}

public sealed class UsersInProcess(InProcessApi api) : UsersTests(api), IClassFixture<InProcessApi>;
public sealed class UsersBinary(BinaryApi api) : UsersTests(api), IClassFixture<BinaryApi>;
