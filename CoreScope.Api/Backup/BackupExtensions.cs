using CoreScope.Api.Options;

namespace CoreScope.Api.Backup;

/// <summary>Registers and wires what <c>GET /api/backup</c> needs besides its controller.</summary>
public static class BackupExtensions
{
    /// <summary>The download settings, checked at start, and the per-client rate limit.</summary>
    public static IServiceCollection AddBackupDownloads(this IServiceCollection services)
    {
        services.AddOptions<BackupDownloadOptions>().BindConfiguration(BackupDownloadOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(options => options.AddPolicy<string, BackupRateLimiterPolicy>(BackupRateLimiterPolicy.PolicyName));
        return services;
    }

    /// <summary>One audit line per backup request, including the ones refused before the action runs.</summary>
    public static WebApplication UseBackupAudit(this WebApplication app)
    {
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments("/api/backup", StringComparison.OrdinalIgnoreCase),
            branch => branch.UseMiddleware<BackupAuditMiddleware>());
        return app;
    }
}
