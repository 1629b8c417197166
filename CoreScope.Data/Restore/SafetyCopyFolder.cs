using System.Data.SQLite;
using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Options;
using CoreScope.Data.Store;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Restore;

/// <summary>
/// Safety copies as files plus JSON manifests in <c>data/backups</c> beside the database, the layout of the
/// stored-backups issue (#12), until its store lands and takes this one's place behind <see cref="IPreRestoreBackups"/>.
/// A copy is written as <c>.partial</c>, fsynced and renamed only when complete, so a crash never leaves a file that
/// looks finished.
/// </summary>
public sealed partial class SafetyCopyFolder(
    BackupService backupService,
    BackupStore store,
    SqliteConnectionFactory connectionFactory,
    DatabaseLocation location,
    IOptions<RestoreOptions> options,
    BackupActivity activity,
    TimeProvider timeProvider,
    ILogger<SafetyCopyFolder> logger) : IPreRestoreBackups
{
    private const string PartialSuffix = ".partial";

    private static readonly JsonSerializerOptions ManifestJson = new() { WriteIndented = true };

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")]
    private static partial Regex IdPattern();

    /// <summary>The folder the copies and manifests are in.</summary>
    public string Folder { get; } = string.IsNullOrWhiteSpace(options.Value.SafetyCopyDirectory)
        ? Path.Combine(Path.GetDirectoryName(location.FilePath)!, "backups")
        : Path.GetFullPath(options.Value.SafetyCopyDirectory, Path.GetDirectoryName(location.FilePath)!);

    // A copy that becomes a plain file: out of the WAL mode the page copy carries over, so it opens anywhere on its own.
    private const string PlainFileSql = "PRAGMA journal_mode = DELETE;";

    public async Task<BackupManifest> CreatePreRestoreAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Folder);
        var createdAt = timeProvider.GetUtcNow();
        var id = $"{createdAt:yyyyMMdd-HHmmss}-pre-restore-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        var file = Path.Combine(Folder, id + ".db");
        var partial = file + PartialSuffix;
        var stopwatch = Stopwatch.StartNew();
        string method;
        string? integrity = null;
        IReadOnlyDictionary<string, long> rows = new SortedDictionary<string, long>();
        IReadOnlyList<string> schemaSteps = [];
        try
        {
            try
            {
                // The page copy (the backup API in one step): 1.65 s for 1 GB against 4.1 s for VACUUM INTO
                // (docs/benchmarks.md), and the restore waits for it.
                await backupService.CopyDatabaseToAsync(partial, SnapshotMethod.Pages, cancellationToken);
                method = "pages";
                await using var connection = await connectionFactory.OpenFileAsync(partial, readOnly: false, cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(PlainFileSql, cancellationToken: cancellationToken));
                rows = await DatabaseFacts.CountRowsAsync(connection, cancellationToken);
                schemaSteps = await DatabaseFacts.SchemaStepsAsync(connection, cancellationToken);
            }
            catch (Exception exception) when (IsUnreadable(exception))
            {
                // The live file is too damaged for SQLite to copy (the offline restore's case): keep its bytes as they are.
                logger.LogWarning(exception, "The live database cannot be read; the safety copy is a copy of its files");
                File.Delete(partial);
                File.Copy(location.FilePath, partial);
                if (File.Exists(location.WalPath))
                {
                    File.Copy(location.WalPath, file + "-wal", overwrite: true);
                }

                method = "file";
                integrity = "the live database could not be read: " + exception.Message;
            }

            await using (var stream = new FileStream(partial, FileMode.Open, FileAccess.ReadWrite))
            {
                stream.Flush(flushToDisk: true);
            }

            var sha256 = await StagingFiles.HashAsync(partial, cancellationToken);
            var manifest = new BackupManifest(
                id, createdAt, "pre-restore", method, Compressed: false, new FileInfo(partial).Length, Convert.ToHexStringLower(sha256),
                stopwatch.ElapsedMilliseconds, ServerVersion(), schemaSteps, rows, integrity);
            File.Move(partial, file);
            await WriteManifestAsync(manifest, cancellationToken);
            logger.LogInformation("Safety copy {Id} written to {File} in {Ms} ms", id, file, stopwatch.ElapsedMilliseconds);
            activity.RecordBackupSucceeded(BackupTrigger.PreRestore, manifest.SizeBytes, stopwatch.Elapsed, id);
            return manifest;
        }
        catch (Exception exception)
        {
            TryDelete(partial);
            TryDelete(file);
            if (exception is OperationCanceledException)
            {
                throw;
            }

            activity.RecordBackupFailed(BackupTrigger.PreRestore, "the safety copy before a restore failed: " + exception.Message, id);
            if (exception is RestoreFailedException)
            {
                throw;
            }

            if (exception is BackupFailedException { Failure: BackupFailure.InsufficientStorage } full)
            {
                throw new RestoreFailedException(RestoreFailure.InsufficientStorage,
                    "No room for the safety copy, so nothing was changed: " + full.Message, exception);
            }

            throw new RestoreFailedException(RestoreFailure.Failed,
                "The safety copy could not be written, so nothing was changed: " + exception.Message, exception);
        }
    }

    public async Task<StoredBackup?> FindAsync(string id, CancellationToken cancellationToken)
    {
        if (!IdPattern().IsMatch(id))
        {
            return null;
        }

        var manifestPath = Path.Combine(Folder, id + ".json");
        if (!File.Exists(manifestPath))
        {
            return await FindInStoreAsync(id, cancellationToken);
        }

        BackupManifest? manifest;
        await using (var stream = File.OpenRead(manifestPath))
        {
            manifest = await JsonSerializer.DeserializeAsync<BackupManifest>(stream, ManifestJson, cancellationToken);
        }

        var file = Path.Combine(Folder, id + (manifest?.Compressed == true ? ".db.gz" : ".db"));
        return manifest is not null && manifest.Id == id && File.Exists(file) ? new StoredBackup(file, manifest) : null;
    }

    // The store's own backups (manual, scheduled): served only when whole, so a damaged or changed one is refused
    // (StoredBackupDamagedException, 409) before anything is staged, as its download would be.
    private async Task<StoredBackup?> FindInStoreAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            store.Get(id);
        }
        catch (StoredBackupNotFoundException)
        {
            return null;
        }

        var file = await store.OpenForDownloadAsync(id, cancellationToken);
        var stored = file.Manifest;
        return new StoredBackup(file.Path, new BackupManifest(
            stored.Id, new DateTimeOffset(stored.CreatedAt, TimeSpan.Zero), stored.Trigger, stored.Method, stored.Compressed,
            stored.SizeBytes, stored.Sha256, stored.DurationMs, stored.ServerVersion, stored.SchemaSteps, stored.Rows, stored.Integrity));
    }

    public int SweepIncomplete()
    {
        if (!Directory.Exists(Folder))
        {
            return 0;
        }

        var removed = 0;
        foreach (var partial in Directory.EnumerateFiles(Folder, "*" + PartialSuffix))
        {
            if (TryDelete(partial))
            {
                removed++;
            }
        }

        if (removed > 0)
        {
            logger.LogWarning("Removed {Count} unfinished safety copies left by an earlier run from {Folder}", removed, Folder);
        }

        return removed;
    }

    private async Task WriteManifestAsync(BackupManifest manifest, CancellationToken cancellationToken)
    {
        var path = Path.Combine(Folder, manifest.Id + ".json");
        var partial = path + PartialSuffix;
        await using (var stream = new FileStream(partial, FileMode.CreateNew, FileAccess.Write))
        {
            await JsonSerializer.SerializeAsync(stream, manifest, ManifestJson, cancellationToken);
            stream.Flush(flushToDisk: true);
        }

        File.Move(partial, path);
    }

    private static bool IsUnreadable(Exception exception) =>
        exception is SQLiteException { ResultCode: SQLiteErrorCode.NotADb or SQLiteErrorCode.Corrupt }
        || exception is BackupFailedException { Failure: BackupFailure.DatabaseUnreadable }
        || exception.InnerException is SQLiteException { ResultCode: SQLiteErrorCode.NotADb or SQLiteErrorCode.Corrupt };

    private static string ServerVersion()
    {
        var informational = (Assembly.GetEntryAssembly() ?? typeof(SafetyCopyFolder).Assembly)
            .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? informational : informational[..plus];
    }

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
