using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using CoreScope.Data.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data;

/// <summary>
/// Start-up work that must finish before the first request: the schema, on the writer connection, the
/// removal of snapshot folders a crash left behind, and the backup store's sweep and catalogue.
/// </summary>
internal sealed class DatabaseInitializer(
    DatabaseWriter writer,
    BackupStore store,
    IOptions<BackupOptions> backupOptions,
    ILogger<DatabaseInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await writer.InitializeAsync(cancellationToken);
        SnapshotFolders.SweepStale(backupOptions.Value.ResolvedTempDirectory, logger);
        store.Initialize();
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
