using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data;

/// <summary>
/// Start-up work that must finish before the first request: the schema, on the writer connection, and the
/// removal of snapshot folders a crash left behind.
/// </summary>
internal sealed class DatabaseInitializer(
    DatabaseWriter writer,
    IOptions<BackupOptions> backupOptions,
    ILogger<DatabaseInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await writer.InitializeAsync(cancellationToken);
        SnapshotFolders.SweepStale(backupOptions.Value.ResolvedTempDirectory, logger);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
