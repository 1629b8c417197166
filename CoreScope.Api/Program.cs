using CoreScope.Api.Filters;
using CoreScope.Api.Infrastructure;
using CoreScope.Api.Options;
using CoreScope.Data;
using NSwag;

var builder = WebApplication.CreateBuilder(args);

// Settings live under "CoreScope"; a bad value stops the server at start rather than on first use.
builder.Services.AddOptions<CoreScopeOptions>().BindConfiguration(CoreScopeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddCoreScopeData();

// Every error, ours or the framework's, is a ProblemDetails that also carries CoreScope's "error" member.
builder.Services.AddProblemDetails(options => options.CustomizeProblemDetails = ProblemDetailsDefaults.AddErrorMember);
builder.Services.AddExceptionHandler<ProblemDetailsExceptionHandler>();

// A body that fails to parse is reported once, by what is wrong with it, not also as a "required" parameter.
builder.Services.AddControllers(options => options.SuppressImplicitRequiredAttributeForNonNullableReferenceTypes = true);

// Request timings per route template for /api/perf and /api/health; what the status endpoints report.
builder.Services.AddSingleton<PerfCollector>();
builder.Services.AddSingleton<ServerInfo>();
builder.Services.AddSingleton<ServerStatusService>();

// OpenAPI at /api/openapi with an API-key scheme that Swagger UI's Authorize fills in.
const string ApiKeyScheme = "ApiKey";
builder.Services.AddOpenApiDocument(document =>
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

// The backup's per-client token bucket, on the framework's rate limiter.
builder.Services.AddRateLimiter(BackupRateLimiting.Configure);

var app = builder.Build();

WarnAboutApiKey(app);

app.UseMiddleware<PerfMiddleware>();
app.UseExceptionHandler();
app.UseStatusCodePages();

// One audit line per backup request, including the ones refused before the action runs.
app.UseWhen(
    context => context.Request.Path.StartsWithSegments("/api/backup", StringComparison.OrdinalIgnoreCase),
    branch => branch.UseMiddleware<BackupAuditMiddleware>());

app.UseRateLimiter();

// The operator's page at /admin: static files under a same-origin Content-Security-Policy.
app.UseAdminPage();

app.UseOpenApi(settings => settings.Path = "/api/openapi");
app.UseSwaggerUi(settings =>
{
    settings.Path = "/api/docs";
    settings.DocumentPath = "/api/openapi";
});

app.MapControllers();

app.Run();

static void WarnAboutApiKey(WebApplication app)
{
    var apiKey = app.Configuration[$"{CoreScopeOptions.SectionName}:{nameof(CoreScopeOptions.ApiKey)}"];
    if (string.IsNullOrEmpty(apiKey))
    {
        app.Logger.LogWarning("No API key is configured (CoreScope:ApiKey): admin endpoints such as /api/backup answer 403");
    }
    else if (ApiKeyStrength.IsWeak(apiKey))
    {
        app.Logger.LogWarning(
            "The configured API key is weak (under {Length} characters or a known placeholder): admin endpoints refuse it with 403",
            ApiKeyStrength.MinimumLength);
    }
}

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
