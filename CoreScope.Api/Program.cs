using CoreScope.Api.AdminPage;
using CoreScope.Api.Backup;
using CoreScope.Api.Diagnostics;
using CoreScope.Api.Filters;
using CoreScope.Api.Infrastructure;
using CoreScope.Api.Options;
using CoreScope.Api.Restore;
using CoreScope.Data;

// "restore <file>": the offline restore for a stopped server or a damaged live file, on the same data services.
if (args is ["restore", ..])
{
    return await RestoreCommand.RunAsync(args[1..]);
}

// Relative paths (appsettings.json, data/corescope.db, wwwroot) come from the application's folder, not from wherever
// a service manager started the process.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = ContentRoot.Resolve(args) });

// Settings live under "CoreScope"; a bad value stops the server at start rather than on first use.
builder.Services.AddOptions<CoreScopeOptions>().BindConfiguration(CoreScopeOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

// The database: connections, the one writer, the schema at start, the data services (CoreScope.Data).
builder.Services.AddCoreScopeData();

// No log line carries a raw request path (a download link's token is one), however far logging is turned up.
builder.Services.AddRequestPathLogFloors();

// Every error body is a ProblemDetails with CoreScope's "error" member, mapped from our exceptions in one place.
builder.Services.AddCoreScopeProblemDetails();

// A body that fails to parse is reported once, by what is wrong with it, not also as a "required" parameter.
builder.Services.AddControllers(options => options.SuppressImplicitRequiredAttributeForNonNullableReferenceTypes = true);

// A state-changing request with a query parameter its action does not take (?dry_run=true) is refused, not run without it.
builder.Services.AddKnownQueryParameters();

// Request timings per route template, and what /api/stats, /api/health and /api/perf report.
builder.Services.AddDiagnostics();

// /metrics for Prometheus: backups, drills, restores and ingest from the CoreScope meter, plus the framework's own.
builder.Services.AddCoreScopeMetrics(builder.Configuration);

// The backup download's settings and its per-client permits (spent only by a backup that starts).
builder.Services.AddBackupDownloads();

// Time-limited download links for stored backups, under Data Protection keys kept beside the database.
builder.Services.AddBackupLinks();

// OpenAPI with an API-key scheme, so Swagger UI's Authorize sends the key on the operations that need it.
builder.Services.AddCoreScopeOpenApi();

var app = builder.Build();

// A missing or weak key disables the admin endpoints; say so at start, not only on the first refused request.
app.WarnAboutApiKey();

// First, what is recorded of each request's address: its route template, kept before an error clears the endpoint.
app.UseRequestRoutes();

// Then the timings, so they include the requests that fail.
app.UsePerfTimings();
app.UseCoreScopeProblemDetails();

// One audit line per backup and per restore request, including the ones refused before the action runs.
app.UseBackupAudit();
app.UseRestoreAudit();

// The operator's page at /admin: static files under a same-origin Content-Security-Policy.
app.UseAdminPage();

// The OpenAPI document, and Swagger UI at /api/docs on that document only, under a same-origin policy (it holds the key).
app.UseCoreScopeOpenApi();
app.MapControllers();
app.MapCoreScopeMetrics();

// A bad setting, an unusable temp folder or a missing database ends the process with one line saying why (exit 78),
// checked before the host starts so that it does not log the refusal as a crash with a stack trace.
try
{
    await StartupChecks.RunAsync(app, CancellationToken.None);
    await app.RunAsync();
    return 0;
}
catch (Exception exception) when (StartupChecks.IsOwnProcess && StartupChecks.Refusal(exception) is { } reason)
{
    await Console.Error.WriteLineAsync("CoreScope.Analyzer cannot start: " + reason);
    return StartupChecks.RefusedExitCode;
}

/// <summary>The entry point, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
