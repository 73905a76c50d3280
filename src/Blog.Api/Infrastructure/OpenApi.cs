using System.ComponentModel.DataAnnotations;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Blog.Api.Infrastructure;

public static class OpenApi
{
    public const string TokenScheme = "Token";

    /// <summary>
    /// The document at /openapi/v1.json, built on first request, not at start-up. On top of
    /// what the framework infers it states what validation enforces, so generated clients
    /// validate the same way: the "Token" scheme on every endpoint that requires a user,
    /// required text as non-blank strings, formats, tag limits, and paging as integers.
    /// </summary>
    public static IServiceCollection AddApiDocument(this IServiceCollection services) => services.AddOpenApi(options =>
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "Blog API",
                Version = "v1",
                Description = "A Medium-style blogging backend: the RealWorld (Conduit) API, a small /api/v1 compatibility surface, and operational endpoints.",
            };
            document.Tags = new HashSet<OpenApiTag>(OpenApiExamples.Groups.Select(group => new OpenApiTag { Name = group.Name, Description = group.Description }));
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[TokenScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.ApiKey,
                In = ParameterLocation.Header,
                Name = "Authorization",
                Description = "The JWT from register or login, sent as `Authorization: Token <jwt>` (`Bearer <jwt>` works too).",
            };
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IAuthorizeData>().Any())
            {
                operation.Security ??= [];
                operation.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(TokenScheme, context.Document)] = [] });
            }
            // Paging and ids arrive as text so that bad values get the API's own 422/404;
            // what they must hold is an integer in range.
            foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
            {
                parameter.Schema = parameter.Name switch
                {
                    "limit" => Integer(minimum: 1, maximum: Limits.PageSize, fallback: Limits.DefaultPageSize),
                    "offset" => Integer(minimum: 0, maximum: int.MaxValue, fallback: 0),
                    "id" when context.Description.RelativePath?.Contains("comments") == true => Integer(minimum: 1, maximum: long.MaxValue, fallback: null),
                    "id" => new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" },  // a v1 blog
                    _ => parameter.Schema,
                };
            }
            return Task.CompletedTask;
        });
        options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonTypeInfo.Type == typeof(OptionalString))
            {
                schema.Type = JsonSchemaType.String | JsonSchemaType.Null;
                schema.Properties = null;
                schema.Required = null;
            }
            if (context.JsonTypeInfo.Type == typeof(DateTime)) schema.Type = JsonSchemaType.String;  // our own converter
            if (context.JsonPropertyInfo is null && OpenApiExamples.For(context.JsonTypeInfo.Type) is { } example) schema.Examples = [example];
            if (context.JsonTypeInfo.Type == typeof(Articles.Article)) schema.Required?.Remove("body");  // lists leave it out
            var attributes = context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(inherit: true) ?? [];
            foreach (var attribute in attributes)
            {
                switch (attribute)
                {
                    case RequiredAttribute when schema.Type is { } type && type.HasFlag(JsonSchemaType.String):
                        schema.Type = JsonSchemaType.String;  // present, not null,
                        if (schema.MinLength is null or 0) schema.MinLength = 1;  // and not blank
                        break;
                    case RequiredAttribute when schema.Type is { } type:
                        schema.Type = type & ~JsonSchemaType.Null;
                        break;
                    // The framework skips these on OptionalString, which it does not know is text.
                    case StringLengthAttribute length when schema.MaxLength is null:
                        schema.MaxLength = length.MaximumLength;
                        if (length.MinimumLength > 0) schema.MinLength = length.MinimumLength;
                        break;
                    case RegularExpressionAttribute regex when schema.Pattern is null:
                        schema.Pattern = regex.Pattern;
                        break;
                    case EmailAddressAttribute:
                        schema.Format = "email";
                        break;
                    case UrlAttribute:
                        schema.Format = "uri";
                        break;
                }
            }
            if (context.JsonPropertyInfo is { Name: "tagList" } tagList && tagList.DeclaringType != typeof(Articles.Article))
            {
                schema.MaxItems = Limits.Tags;
                schema.Items = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = Limits.Tag };
            }
            return Task.CompletedTask;
        });
    });

    static OpenApiSchema Integer(long minimum, long maximum, int? fallback) => new()
    {
        Type = JsonSchemaType.Integer,
        Format = maximum > int.MaxValue ? "int64" : "int32",
        Minimum = minimum.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Maximum = maximum.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Default = fallback is { } value ? JsonValue.Create(value) : null,
    };
}
