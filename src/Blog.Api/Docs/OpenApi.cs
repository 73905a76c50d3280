using System.ComponentModel.DataAnnotations;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Blog.Api.Auth;
using Blog.Api.Http;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Blog.Api.Docs;

internal static class OpenApi
{
    public const string TokenScheme = "Token";

    const string DocumentPath = "/openapi/v1.json";

    /// <summary>
    /// Whether this process builds the document itself. The framework's generator, with the
    /// transformers below, runs under the JIT: <c>dotnet run</c>, the in-process tests, and
    /// scripts/refresh-openapi, which writes it to src/common/openapi.json (the npm package is
    /// generated from that file too). The AOT binary serves that committed file: this is a
    /// constant false there, so the trimmer drops the generator, 1.4 MB of binary and ~1.6 MB
    /// of memory. OpenApiSnapshotTests fail when the file and the live document differ.
    /// </summary>
    static bool Generated => RuntimeFeature.IsDynamicCodeSupported;

    public static IServiceCollection AddApiDocument(this IServiceCollection services) =>
        Generated ? services.AddOpenApi(Configure) : services;

    public static void MapApiDocument(this WebApplication app)
    {
        if (Generated) app.MapOpenApi(DocumentPath);
        else app.MapGet(DocumentPath, () => TypedResults.Bytes(Snapshot.Bytes, "application/json;charset=utf-8")).ExcludeFromDescription();
    }

    static class Snapshot
    {
        public static readonly byte[] Bytes = Read();

        static byte[] Read()
        {
            using var stream = typeof(Snapshot).Assembly.GetManifestResourceStream("openapi.json")!;
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            return bytes.ToArray();
        }
    }

    /// <summary>
    /// On top of what the framework infers the document states what validation enforces, so
    /// generated clients validate the same way: the "Token" scheme on every endpoint that
    /// requires a user, required text as non-blank strings, formats, tag limits, and paging
    /// as integers.
    /// </summary>
    static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "Blog API",
                Version = "v1",
                Description = "A Medium-style blogging backend: the RealWorld (Conduit) API, a small /api/v1 compatibility surface, and operational endpoints.",
                License = new OpenApiLicense { Name = "MIT", Identifier = "MIT" },
            };
            // Relative: the service that serves this document, in whichever region and host (the
            // framework would name the host of the request that asked for it).
            document.Servers = [new OpenApiServer { Url = "/", Description = "The service that serves this document" }];

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
        // A required envelope ("user": {…}) is a nullable C# property so that its absence gets
        // field-by-field 422s; in the contract it is required and not null.
        options.AddDocumentTransformer((document, _, _) =>
        {
            foreach (var schema in document.Components?.Schemas?.Values.OfType<OpenApiSchema>() ?? [])
            {
                foreach (var required in schema.Required ?? new HashSet<string>())
                {
                    if (schema.Properties?.TryGetValue(required, out var property) == true) schema.Properties[required] = WithoutNull(property)!;
                }
            }
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            // Every operation says what it takes: a token (it needs a user), a token or none (it
            // shows a signed-in caller more; the empty requirement is "none"), or none at all, so
            // that a client does not send one (a stale token sent to login would get a 401).
            var metadata = context.Description.ActionDescriptor.EndpointMetadata;
            var token = new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(TokenScheme, context.Document)] = [] };
            operation.Security = metadata.OfType<IAuthorizeData>().Any() ? [token]
                : metadata.OfType<CurrentUser.OptionalUser>().Any() ? [new OpenApiSecurityRequirement(), token]
                : [];
            // Bodies bind to nullable parameters so that a missing body gets field-by-field 422s
            // rather than a bare 400, but a body is required: say so, and drop the null.
            if (operation.RequestBody is OpenApiRequestBody body)
            {
                body.Required = true;
                foreach (var media in body.Content?.Values.OfType<OpenApiMediaType>() ?? []) media.Schema = WithoutNull(media.Schema);
            }
            // A token that is sent and invalid is refused on every endpoint, also where one is
            // optional or unused (CurrentUser.RejectInvalidTokens).
            operation.Responses ??= [];
            if (!operation.Responses.ContainsKey("401"))
            {
                operation.Responses["401"] = new OpenApiResponse
                {
                    Description = "Unauthorized",
                    Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = new OpenApiSchemaReference(nameof(ErrorBody), context.Document) } },
                };
            }
            // Paging and ids arrive as text so that bad values get the API's own 422/404; the
            // route says what they must hold (OpenApiMetadata).
            var documented = context.Description.ActionDescriptor.EndpointMetadata.OfType<ParameterDoc>().ToDictionary(p => p.Name);
            foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>())
            {
                if (documented.TryGetValue(parameter.Name ?? "", out var doc)) parameter.Schema = Schema(doc);
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
            // A property left out when null (an article's body in lists) is not always there.
            foreach (var property in context.JsonPropertyInfo is null ? context.JsonTypeInfo.Properties : [])
            {
                var ignore = property.AttributeProvider?.GetCustomAttributes(typeof(JsonIgnoreAttribute), inherit: true).OfType<JsonIgnoreAttribute>().FirstOrDefault();
                if (ignore?.Condition == JsonIgnoreCondition.WhenWritingNull) schema.Required?.Remove(property.Name);
            }
            var attributes = context.JsonPropertyInfo?.AttributeProvider?.GetCustomAttributes(inherit: true) ?? [];
            foreach (var attribute in attributes)
            {
                switch (attribute)
                {
                    case RequiredAttribute when schema.Type is { } type && !type.HasFlag(JsonSchemaType.String):
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
                    case SchemaFormatAttribute format:
                        schema.Format = format.Format;
                        break;
                    case TextListAttribute list:
                        schema.MaxItems = list.MaxItems;
                        schema.Items = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = list.ItemMaxLength };
                        break;
                }
            }
            // Required text must be there and not blank. An update field may be absent, but when
            // present it cannot be blank either, except the few that null or "" clears.
            var text = schema.Type is { } kind && kind.HasFlag(JsonSchemaType.String);
            var optional = context.JsonPropertyInfo?.PropertyType == typeof(OptionalString);
            if (optional && attributes.OfType<ClearableAttribute>().Any()) schema.Type = JsonSchemaType.String | JsonSchemaType.Null;
            else if (optional || (text && attributes.OfType<RequiredAttribute>().Any())) NonBlank(schema);
            return Task.CompletedTask;
        });
    }

    /// <summary>"oneOf: [null, X]" (how a nullable reference is written) becomes X itself.</summary>
    static IOpenApiSchema? WithoutNull(IOpenApiSchema? schema) =>
        schema is OpenApiSchema { OneOf: { Count: 2 } options } && options.Count(o => o.Type == JsonSchemaType.Null) == 1
            ? options.Single(o => o.Type != JsonSchemaType.Null)
            : schema;

    /// <summary>Text that must be there and not be blank: at least one non-space character.</summary>
    static void NonBlank(OpenApiSchema schema)
    {
        schema.Type = JsonSchemaType.String;
        if (schema.MinLength is null or 0) schema.MinLength = 1;
        schema.Pattern ??= @"\S";
    }

    static OpenApiSchema Schema(ParameterDoc doc) => new()
    {
        Type = doc.Type == "integer" ? JsonSchemaType.Integer : JsonSchemaType.String,
        Format = doc.Format,
        Minimum = doc.Minimum?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Maximum = doc.Maximum?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Default = doc.Default is { } value ? JsonValue.Create(value) : null,
    };
}
