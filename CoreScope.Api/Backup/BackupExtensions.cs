using CoreScope.Api.Options;
using CoreScope.Data.Connections;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace CoreScope.Api.Backup;

/// <summary>Registers and wires what <c>GET /api/backup</c> needs besides its controller.</summary>
public static class BackupExtensions
{
    /// <summary>The download settings, checked at start, and the per-client permits to start one.</summary>
    public static IServiceCollection AddBackupDownloads(this IServiceCollection services)
    {
        services.AddOptions<BackupDownloadOptions>().BindConfiguration(BackupDownloadOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<BackupPermits>();
        return services;
    }

    /// <summary>
    /// Links to stored backups: Data Protection with its keys in a folder beside the database (so links survive a
    /// restart, and a copy of the server's data folder carries them), readable by the server's user only.
    /// </summary>
    public static IServiceCollection AddBackupLinks(this IServiceCollection services)
    {
        services.AddOptions<BackupLinkOptions>().BindConfiguration(BackupLinkOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddDataProtection().SetApplicationName("CoreScope.Analyzer");
        services.AddOptions<KeyManagementOptions>().Configure<DatabaseLocation, ILoggerFactory>((options, database, loggerFactory) =>
        {
            var folder = new DirectoryInfo(database.DataProtectionKeysFolder);
            folder.Create();
            if (!OperatingSystem.IsWindows())
            {
                folder.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
            }

            options.XmlRepository = new FileSystemXmlRepository(folder, loggerFactory);
        });
        services.AddSingleton<BackupLinks>();
        return services;
    }

    /// <summary>The folder beside the database that holds the keys download links are protected with.</summary>
    public const string KeysFolderName = DatabaseLocation.DataProtectionKeysFolderName;

    /// <summary>
    /// One audit line per backup request (<c>GET /api/backup</c>) and per download of a stored backup, including the
    /// ones refused before the action runs.
    /// </summary>
    public static WebApplication UseBackupAudit(this WebApplication app)
    {
        app.UseWhen(IsAudited, branch => branch.UseMiddleware<BackupAuditMiddleware>());
        return app;
    }

    private static bool IsAudited(HttpContext context)
    {
        var path = context.Request.Path;
        return path.StartsWithSegments("/api/backup", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/" + BackupLinks.RoutePrefix, StringComparison.OrdinalIgnoreCase)
            || (path.StartsWithSegments("/api/backups", StringComparison.OrdinalIgnoreCase)
                && path.Value!.EndsWith("/file", StringComparison.OrdinalIgnoreCase));
    }
}
