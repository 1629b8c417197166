using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using CoreScope.Data.Restore;
using CoreScope.Data.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data;

/// <summary>
/// Start-up work that must finish before the first request: the schema, on the writer connection, the
/// removal of snapshot and restore staging folders and unfinished safety copies a crash left behind, and the backup
/// store's sweep and catalogue.
/// </summary>
internal sealed class DatabaseInitializer(
    DatabaseWriter writer,
    DatabaseLocation location,
    BackupStore store,
    IPreRestoreBackups preRestoreBackups,
    IOptions<BackupOptions> backupOptions,
    ILogger<DatabaseInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await writer.InitializeAsync(cancellationToken);
        SnapshotFolders.SweepStale(backupOptions.Value.ResolvedTempDirectory, logger);
        store.Initialize();
        preRestoreBackups.SweepIncomplete();
        File.Delete(location.FilePath + RestoreService.SwapSuffix);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
