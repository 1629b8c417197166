using CoreScope.Api.ApiDocs;
using CoreScope.Api.Filters;
using CoreScope.Api.Restore;
using NSwag;

namespace CoreScope.Api.Infrastructure;

/// <summary>The OpenAPI document at <c>/api/openapi</c> and Swagger UI at <c>/api/docs</c>.</summary>
public static class OpenApiExtensions
{
    private const string ApiKeyScheme = "ApiKey";

    /// <summary>The document, with an API-key scheme that Swagger UI's Authorize fills in for the operations that need it.</summary>
    public static IServiceCollection AddCoreScopeOpenApi(this IServiceCollection services) =>
        services.AddOpenApiDocument(document =>
        {
            document.Title = "CoreScope.Analyzer";
            document.Description = "A CoreScope-compatible server for MeshCore databases, with one-request consistent backups.";
            document.AddSecurity(ApiKeyScheme, new OpenApiSecurityScheme
            {
                Type = OpenApiSecuritySchemeType.ApiKey,
                Name = ApiKeyAuthorizationFilter.HeaderName,
                In = OpenApiSecurityApiKeyLocation.Header,
                Description = "The admin key configured in CoreScope:ApiKey.",
            });
            document.OperationProcessors.Add(new ApiKeyOperationProcessor(ApiKeyScheme));
            document.OperationProcessors.Add(new RestoreBodyOperationProcessor());
        });

    /// <summary>
    /// The document, and Swagger UI on this document only under a same-origin policy (<see cref="ApiDocsPage"/>): the
    /// page holds the API key, so it must neither load another server's document nor talk to another origin.
    /// </summary>
    public static WebApplication UseCoreScopeOpenApi(this WebApplication app)
    {
        app.UseOpenApi(settings => settings.Path = "/api/openapi");
        app.UseApiDocs();
        return app;
    }
}
