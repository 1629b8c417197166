
namespace CoreScope.Api.Options;

/// <summary>Says at start what <see cref="Filters.ApiKeyAuthorizationFilter"/> would otherwise only say to a refused request.</summary>
public static class ApiKeyWarnings
{
    public static WebApplication WarnAboutApiKey(this WebApplication app)
    {
        var apiKey = app.Configuration[$"{CoreScopeOptions.SectionName}:{nameof(CoreScopeOptions.ApiKey)}"];
        if (string.IsNullOrEmpty(apiKey))
        {
            app.Logger.LogWarning("No API key is configured (CoreScope:ApiKey): admin endpoints such as /api/backup answer 403");
        }
        else if (ApiKeyStrength.Weakness(apiKey) is { } weakness)
        {
            app.Logger.LogWarning("The configured API key is weak ({Weakness}): admin endpoints refuse it with 403", weakness);
        }

        return app;
    }
}
