using CoreScope.Api.Filters;
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
        });

    public static WebApplication UseCoreScopeOpenApi(this WebApplication app)
    {
        app.UseOpenApi(settings => settings.Path = "/api/openapi");
        app.UseSwaggerUi(settings =>
        {
            settings.Path = "/api/docs";
            settings.DocumentPath = "/api/openapi";
        });
        return app;
    }
}
