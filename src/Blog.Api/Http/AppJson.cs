using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Blog.Api.Articles;
using Blog.Api.Comments;
using Blog.Api.Compat;
using Blog.Api.Profiles;
using Blog.Api.Tags;
using Blog.Api.Users;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Blog.Api.Http;

/// <summary>Every type on the wire, serialized by generated code (no reflection under AOT).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, NumberHandling = JsonNumberHandling.Strict, Converters = [typeof(UtcTimestampConverter)])]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(RegisterRequest))]
[JsonSerializable(typeof(LoginRequest))]
[JsonSerializable(typeof(UpdateUserRequest))]
[JsonSerializable(typeof(UserResponse))]
[JsonSerializable(typeof(ProfileResponse))]
[JsonSerializable(typeof(NewArticleRequest))]
[JsonSerializable(typeof(UpdateArticleRequest))]
[JsonSerializable(typeof(ArticleResponse))]
[JsonSerializable(typeof(ArticlesResponse))]
[JsonSerializable(typeof(NewCommentRequest))]
[JsonSerializable(typeof(CommentResponse))]
[JsonSerializable(typeof(CommentsResponse))]
[JsonSerializable(typeof(TagsResponse))]
[JsonSerializable(typeof(SignupRequest))]
[JsonSerializable(typeof(SigninRequest))]
[JsonSerializable(typeof(JwtResponse))]
[JsonSerializable(typeof(CreateBlogRequest))]
[JsonSerializable(typeof(UpdateBlogRequest))]
[JsonSerializable(typeof(BlogIdResponse))]
[JsonSerializable(typeof(BlogResponse))]
[JsonSerializable(typeof(BlogsResponse))]
internal sealed partial class AppJson : JsonSerializerContext
{
    /// <summary>The HTTP JSON options: this context, the timestamp format, readable text.</summary>
    public static void Configure(JsonOptions json)
    {
        json.SerializerOptions.TypeInfoResolverChain.Insert(0, Default);
        json.SerializerOptions.Converters.Add(new UtcTimestampConverter());
        json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;  // numbers are numbers, in and out
        // Responses are JSON, never inlined into HTML: keep "can't" as written instead of
        // "can\u0027t", so clients that compare raw text see the contract's exact messages.
        json.SerializerOptions.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
    }

    public static JsonSerializerOptions HttpOptions(HttpContext context) =>
        context.RequestServices.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
}

internal static class JsonTypeInfoExtensions
{
    public static JsonTypeInfo<ErrorBody> ErrorBody(this JsonSerializerOptions options) =>
        (JsonTypeInfo<ErrorBody>)options.GetTypeInfo(typeof(ErrorBody));
}
