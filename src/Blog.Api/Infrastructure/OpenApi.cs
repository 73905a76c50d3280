using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Blog.Api.Infrastructure;

public static class OpenApi
{
    public const string TokenScheme = "Token";

    /// <summary>
    /// The document at /openapi/v1.json: built on first request, not at start-up. Adds the
    /// RealWorld "Token" scheme and marks every endpoint that requires a user with it.
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
            return Task.CompletedTask;
        });
    });
}
