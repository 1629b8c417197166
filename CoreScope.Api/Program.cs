using CoreScope.Api.AdminPage;
using CoreScope.Api.Backup;
using CoreScope.Api.Diagnostics;
using CoreScope.Api.Infrastructure;
using CoreScope.Api.Options;
using CoreScope.Data;

var builder = WebApplication.CreateBuilder(args);

// Settings live under "CoreScope"; a bad value stops the server at start rather than on first use.
builder.Services.AddOptions<CoreScopeOptions>().BindConfiguration(CoreScopeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

// The database: connections, the one writer, the schema at start, the data services (CoreScope.Data).
builder.Services.AddCoreScopeData();

// Every error body is a ProblemDetails with CoreScope's "error" member, mapped from our exceptions in one place.
builder.Services.AddCoreScopeProblemDetails();

// A body that fails to parse is reported once, by what is wrong with it, not also as a "required" parameter.
builder.Services.AddControllers(options => options.SuppressImplicitRequiredAttributeForNonNullableReferenceTypes = true);

// Request timings per route template, and what /api/stats, /api/health and /api/perf report.
builder.Services.AddDiagnostics();

// /metrics for Prometheus: backups, drills, restores and ingest from the CoreScope meter, plus the framework's own.
builder.Services.AddCoreScopeMetrics(builder.Configuration);

// The backup download's settings and its per-client rate limit.
builder.Services.AddBackupDownloads();

// Time-limited download links for stored backups, under Data Protection keys kept beside the database.
builder.Services.AddBackupLinks();

// OpenAPI with an API-key scheme, so Swagger UI's Authorize sends the key on the operations that need it.
builder.Services.AddCoreScopeOpenApi();

var app = builder.Build();

// A missing or weak key disables the admin endpoints; say so at start, not only on the first refused request.
app.WarnAboutApiKey();

// First, so the timings include the requests that fail.
app.UsePerfTimings();
app.UseCoreScopeProblemDetails();

// One audit line per backup request, including the ones refused before the action runs.
app.UseBackupAudit();
app.UseRateLimiter();

// The operator's page at /admin: static files under a same-origin Content-Security-Policy.
app.UseAdminPage();

// The OpenAPI document, and Swagger UI at /api/docs on that document only, under a same-origin policy (it holds the key).
app.UseCoreScopeOpenApi();
app.MapControllers();
app.MapCoreScopeMetrics();

app.Run();

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
