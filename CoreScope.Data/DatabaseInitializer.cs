using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoreScope.Data;

/// <summary>
/// Start-up work that must finish before the first request: the schema, on the writer connection, and the
/// removal of snapshot folders a crash left behind.
/// </summary>
internal sealed class DatabaseInitializer(
    DatabaseWriter writer,
    BackupService backupService,
    ILogger<DatabaseInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await writer.InitializeAsync(cancellationToken);
        var removed = backupService.SweepStaleSnapshots();
        if (removed > 0)
        {
            logger.LogWarning("Removed {Count} snapshot folders left by an earlier run from {Folder}", removed, backupService.TempDirectory);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
