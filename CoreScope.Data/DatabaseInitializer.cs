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
/// Start-up work that must finish before the first request: the backup temp folder and the store folder checked, the schema applied on
/// the writer connection, the snapshot and restore staging folders a crash left behind removed, and the backup store's sweep and
/// catalogue. It runs once, whether the host starts it or the program runs it first to turn a refusal into one line
/// (see <c>StartupChecks</c> in the API).
/// </summary>
public sealed class DatabaseInitializer(
    DatabaseWriter writer,
    DatabaseLocation location,
    BackupStore store,
    IOptions<BackupOptions> backupOptions,
    ILogger<DatabaseInitializer> logger) : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _once = new(1, 1);
    private bool _done;

    /// <summary>
    /// Throws <see cref="StartupCheckFailedException"/> when the server must not start: the temp folder or the backup
    /// store folder is unusable, or a database that existed is missing.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _once.WaitAsync(cancellationToken);
        try
        {
            if (_done)
            {
                return;
            }

            var tempDirectory = backupOptions.Value.ResolvedTempDirectory;
            SnapshotFolders.EnsureUsable(tempDirectory);

            // Before the database check, which lists the store folder: a file in its place or a folder the server may
            // not list or write is one line and exit 78, not a crash.
            store.EnsureUsable();
            await writer.InitializeAsync(SignsTheDatabaseExisted(), cancellationToken);
            SnapshotFolders.SweepStale(tempDirectory, logger);
            store.Initialize();
            File.Delete(location.FilePath + RestoreService.SwapSuffix);
            _done = true;
        }
        finally
        {
            _once.Release();
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // What this server keeps beside a database it has run with: stored backups of it, and the keys of its download
    // links. Either, without the database, means the database existed (a data folder emptied but for them).
    private List<string> SignsTheDatabaseExisted()
    {
        var signs = new List<string>();
        if (store.HoldsStoredBackups())
        {
            signs.Add($"the backup store {store.Folder} holds stored backups");
        }

        var keys = location.DataProtectionKeysFolder;
        if (Directory.Exists(keys) && Directory.EnumerateFiles(keys, "key-*.xml").Any())
        {
            signs.Add($"{keys} holds download-link keys");
        }

        return signs;
    }

    public void Dispose() => _once.Dispose();
}
