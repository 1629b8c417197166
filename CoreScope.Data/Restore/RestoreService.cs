using System.Data.SQLite;
using System.Diagnostics;
using System.Security.Cryptography;
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
/// Restores the live database from an upload, a stored backup or a file: take the snapshot gate, check the disks,
/// stage and check a copy (<see cref="RestoreChecks"/>), then, holding our writer, store a safety copy and copy the
/// checked staging file <em>into</em> the live database with SQLite's online backup API, as sqlite3's <c>.restore</c>
/// does. That copy is one write transaction on the live file: a crash half-way leaves the old content whole (the
/// uncommitted WAL frames are ignored), and every other connection and process keeps its handle and sees the new
/// content after the commit. Nothing is swapped and nothing restarts.
/// </summary>
public sealed class RestoreService(
    SqliteConnectionFactory connectionFactory,
    DatabaseLocation location,
    DatabaseWriter writer,
    SnapshotSlots slots,
    RestoreChecks checks,
    BackupStore store,
    IEnumerable<IRestoreListener> listeners,
    BackupActivity activity,
    IOptions<RestoreOptions> restoreOptions,
    IOptions<BackupOptions> backupOptions,
    ILogger<RestoreService> logger)
{
    private static readonly TimeSpan WriteRetryAfter = TimeSpan.FromSeconds(5);

    private readonly RestoreOptions _options = restoreOptions.Value;
    private readonly BackupOptions _backupOptions = backupOptions.Value;

    /// <summary>Restores what <paramref name="content"/> holds (a .db or .db.gz), read once from start to end.</summary>
    public Task<RestoreResult> RestoreAsync(Stream content, string source, RestoreRequest request, CancellationToken cancellationToken) =>
        RunAsync(content, source, request, storedSha256: null, cancellationToken);

    /// <summary>
    /// Restores the stored backup <paramref name="id"/>; throws <see cref="RestoreFailure.UnknownBackup"/> when there is none.
    /// Safety copies are stored backups too, so "undo" is a restore of the id the last restore answered with. A stored
    /// backup that is damaged or changed since it was written is refused (<see cref="StoredBackupDamagedException"/>, 409)
    /// before anything is staged, as its download would be.
    /// </summary>
    public async Task<RestoreResult> RestoreStoredAsync(string id, RestoreRequest request, CancellationToken cancellationToken)
    {
        StoredBackupFile stored;
        try
        {
            stored = await store.OpenForDownloadAsync(id, cancellationToken);
        }
        catch (StoredBackupNotFoundException exception)
        {
            throw new RestoreFailedException(RestoreFailure.UnknownBackup, $"No stored backup has the id \"{id}\".", exception);
        }

        await using var file = StagingFiles.OpenSequentialRead(stored.Path, StagingFiles.CopyBufferBytes);
        return await RunAsync(
            file, stored.Manifest.Id, request with { DeclaredLength = file.Length }, Convert.FromHexString(stored.Manifest.Sha256), cancellationToken);
    }

    private async Task<RestoreResult> RunAsync(
        Stream content, string source, RestoreRequest request, byte[]? storedSha256, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        using var slot = await TakeSlotAsync(cancellationToken);
        using var staging = SnapshotFolders.Create(_backupOptions.ResolvedTempDirectory, SnapshotFolders.RestorePrefix);
        var folder = staging.Path;
        var name = Path.GetFileName(folder)[SnapshotFolders.RestorePrefix.Length..][..8];
        try
        {
            var live = await ReadLiveAsync(cancellationToken);
            var declared = request.DeclaredLength ?? 0;
            EnsureFree(declared, live?.UsedBytes ?? 0, declared, request.DryRun);

            logger.LogInformation("Restore {Restore}: staging {Source}", name, source);
            var staged = await StageAsync(content, folder, cancellationToken);
            VerifyDigest(staged.Sha256, request.ExpectedSha256, "the digest sent with the request");
            VerifyDigest(staged.Sha256, storedSha256, "its manifest (the stored file changed after it was written)");

            logger.LogInformation("Restore {Restore}: checking {Bytes} bytes", name, staged.DatabaseBytes);
            var liveSchema = live is null ? null : await checks.ReadLiveSchemaAsync(cancellationToken);
            var checkedDatabase = await checks.CheckAsync(
                staged.DatabasePath, liveSchema, (int?)live?.PageSize, request.DropTriggers, cancellationToken);
            var databaseBytes = new FileInfo(staged.DatabasePath).Length;
            var result = new RestoreResult
            {
                DryRun = request.DryRun,
                Source = source,
                Sha256 = Convert.ToHexStringLower(staged.Sha256),
                ReceivedBytes = staged.ReceivedBytes,
                Gzip = staged.WasGzip,
                DatabaseBytes = databaseBytes,
                Rows = checkedDatabase.Rows,
                SchemaStepsApplied = checkedDatabase.SchemaStepsApplied,
                PageSizeRebuiltFrom = checkedDatabase.PageSizeRebuiltFrom,
                TriggersDropped = checkedDatabase.TriggersDropped,
                Duration = stopwatch.Elapsed,
            };
            if (request.DryRun)
            {
                logger.LogInformation("Restore {Restore}: dry run passed every check; nothing was changed", name);
                return result;
            }

            // Every check passed: from here on it is a restore, counted for /metrics whichever way it ends.
            try
            {
                EnsureFree(0, live?.UsedBytes ?? 0, databaseBytes, dryRun: false);

                // From here our own writes wait (or get a 503 after WriteWaitSeconds), so none lands between the safety copy
                // and the copy into the live file. Another process's writes wait on SQLite's lock during the copy itself.
                await using var hold = await writer.HoldAsync(TimeSpan.FromSeconds(_options.WriteWaitSeconds), WriteRetryAfter, cancellationToken);
                string? safetyCopyId = null;
                if (File.Exists(location.FilePath))
                {
                    logger.LogInformation("Restore {Restore}: writing the safety copy", name);
                    safetyCopyId = (await StoreSafetyCopyAsync(slot, cancellationToken)).Id;
                }

                // Past this point the copy runs to its end even if the client leaves: it is one transaction either way, and
                // a finished restore is easier to reason about than one abandoned at a random moment.
                logger.LogInformation("Restore {Restore}: applying", name);
                var appliedBy = live is null && request.AllowFileSwap && File.Exists(location.FilePath)
                    ? await SwapFileAsync(staged.DatabasePath, name)
                    : await CopyIntoLiveAsync(staged.DatabasePath, name);

                var quickCheck = await QuickCheckLiveAsync();
                result = result with
                {
                    PreRestoreBackupId = safetyCopyId,
                    AppliedBy = appliedBy,
                    LiveQuickCheck = quickCheck,
                    Duration = stopwatch.Elapsed,
                };
                foreach (var listener in listeners)
                {
                    listener.OnRestored(result);
                }

                if (quickCheck != "ok")
                {
                    throw new RestoreFailedException(RestoreFailure.Failed,
                        $"The restore was committed, but PRAGMA quick_check of the live database then reported: {quickCheck}. " +
                        $"Restore the safety copy {safetyCopyId} (POST /api/admin/restore?from={safetyCopyId}).");
                }

                logger.LogInformation("Restore {Restore}: done in {Ms} ms; safety copy {SafetyCopy}", name, (long)stopwatch.Elapsed.TotalMilliseconds, safetyCopyId);
                activity.RecordRestore(succeeded: true, stopwatch.Elapsed);
                return result;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                activity.RecordRestore(succeeded: false, stopwatch.Elapsed);
                throw;
            }
        }
        finally
        {
            SnapshotFolders.TryDelete(folder);
        }
    }

    private async Task<IDisposable> TakeSlotAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await slots.AcquireAsync(cancellationToken);
        }
        catch (BackupBusyException busy)
        {
            throw new RestoreFailedException(RestoreFailure.Busy,
                $"Another backup or restore is running; a restore waits for it. Try again in {RetryAfter.ToSeconds(busy.RetryAfter)} seconds.", busy)
            {
                RetryAfter = busy.RetryAfter,
            };
        }
    }

    private async Task<BackupManifest> StoreSafetyCopyAsync(IDisposable slot, CancellationToken cancellationToken)
    {
        try
        {
            return await store.StorePreRestoreAsync(slot, cancellationToken);
        }
        catch (BackupFailedException exception) when (exception.Failure == BackupFailure.InsufficientStorage)
        {
            throw new RestoreFailedException(RestoreFailure.InsufficientStorage,
                "No room for the safety copy, so nothing was changed: " + exception.Message, exception);
        }
        catch (Exception exception) when (exception is not OperationCanceledException and not RestoreFailedException)
        {
            throw new RestoreFailedException(RestoreFailure.Failed,
                "The safety copy could not be written, so nothing was changed: " + exception.Message, exception);
        }
    }

    private async Task<StagedFile> StageAsync(Stream content, string folder, CancellationToken cancellationToken)
    {
        try
        {
            return await RestoreStaging.StageAsync(
                content, folder, _options.MaxUploadMB * DiskSpace.Megabyte, _options.MaxDatabaseMB * DiskSpace.Megabyte, cancellationToken);
        }
        catch (IOException exception) when (DiskSpace.FreeBytesOrMax(folder) < DiskSpace.Megabyte)
        {
            throw new RestoreFailedException(RestoreFailure.InsufficientStorage,
                "The backup temp folder's disk filled up while the upload was staged; nothing was changed. " +
                "Free some space or point CoreScope:Backup:TempDirectory at a larger disk.", exception);
        }
    }

    private static void VerifyDigest(byte[] actual, byte[]? expected, string what)
    {
        if (expected is not null && !CryptographicOperations.FixedTimeEquals(actual, expected))
        {
            throw new RestoreFailedException(RestoreFailure.DigestMismatch,
                $"The SHA-256 of what was received ({Convert.ToHexStringLower(actual)}) differs from {what} " +
                $"({Convert.ToHexStringLower(expected)}); nothing was changed. Send the file again.");
        }
    }

    // The staging copy, the safety copy (the live data) and the WAL the copy writes (every page of the new content).
    private void EnsureFree(long stagingBytes, long safetyCopyBytes, long walBytes, bool dryRun)
    {
        var needs = new List<DiskNeed> { new(_backupOptions.ResolvedTempDirectory, stagingBytes, "the staging copy") };
        if (!dryRun)
        {
            needs.Add(new DiskNeed(store.Folder, safetyCopyBytes, "the safety copy"));
            needs.Add(new DiskNeed(Path.GetDirectoryName(location.FilePath)!, walBytes, "the database's WAL"));
        }

        RestoreDisk.EnsureFree(needs, _backupOptions.FreeSpaceMarginMB);
    }

    private sealed record LiveDatabase(long PageSize, long UsedBytes);

    private const string LiveFactsSql = """
        SELECT page_size AS PageSize, (page_count - freelist_count) * page_size AS UsedBytes
        FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size();
        """;

    // Null when there is no live database to speak of: no file, or one SQLite cannot read (the offline command's case).
    private async Task<LiveDatabase?> ReadLiveAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(location.FilePath))
        {
            return null;
        }

        try
        {
            await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
            return await connection.QuerySingleAsync<LiveDatabase>(new CommandDefinition(LiveFactsSql, cancellationToken: cancellationToken));
        }
        catch (SQLiteException exception) when (exception.ResultCode is SQLiteErrorCode.NotADb or SQLiteErrorCode.Corrupt)
        {
            logger.LogWarning(exception, "The live database {Path} cannot be read", location.FilePath);
            return null;
        }
    }

    private const string JournalModeSql = "PRAGMA journal_mode;";

    private const string WalModeSql = "PRAGMA journal_mode = WAL;";

    // The copy wrote every page of the new content into the WAL; checkpoint it and give the space back now rather
    // than at some later commit. TRUNCATE does what it can when a reader holds an old snapshot and finishes later.
    private const string CheckpointSql = "PRAGMA wal_checkpoint(TRUNCATE);";

    private async Task<string> CopyIntoLiveAsync(string stagedFile, string name)
    {
        await using var source = await connectionFactory.OpenFileAsync(stagedFile, readOnly: true, CancellationToken.None);
        await using var live = await connectionFactory.OpenFileAsync(location.FilePath, readOnly: false, CancellationToken.None);

        // One step (-1): every page in one write transaction on the live file. While another process holds the write
        // lock the step reports busy and is retried every 50 ms; the copy starts when that process commits.
        try
        {
            await Task.Run(() => source.BackupDatabase(live, "main", "main", -1, null, 50));
        }
        catch (SQLiteException exception)
        {
            throw new RestoreFailedException(RestoreFailure.Failed,
                $"The copy into the live database failed ({exception.ResultCode}); its transaction rolled back, so the live " +
                "content is as it was. If the live file itself is damaged, stop the server and run the offline restore " +
                "(dotnet CoreScope.Api.dll restore <file>).", exception);
        }

        logger.LogInformation("Restore {Restore}: committed", name);

        // SQLite keeps a WAL destination in WAL mode (it rewrites the header's version bytes to 2); a new file is not
        // in WAL yet. Either way the server only runs on WAL.
        if (!string.Equals(await live.ExecuteScalarAsync<string>(JournalModeSql), "wal", StringComparison.OrdinalIgnoreCase))
        {
            await live.ExecuteAsync(WalModeSql);
        }

        await live.ExecuteAsync(CheckpointSql);
        return "backup-api";
    }

    // Offline only, and only when the live file cannot be opened at all: there is nothing to copy into. The old WAL and
    // shared memory go first (SQLite would replay the old WAL into the new file), then the checked copy is renamed over
    // the live file; the safety copy kept both old files.
    private async Task<string> SwapFileAsync(string stagedFile, string name)
    {
        var incoming = location.FilePath + SwapSuffix;
        File.Copy(stagedFile, incoming, overwrite: true);
        await using (var stream = new FileStream(incoming, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Flush(flushToDisk: true);
        }

        File.Delete(location.WalPath);
        File.Delete(location.FilePath + "-shm");
        File.Move(incoming, location.FilePath, overwrite: true);
        logger.LogInformation("Restore {Restore}: committed", name);
        await using var live = await connectionFactory.OpenFileAsync(location.FilePath, readOnly: false, CancellationToken.None);
        await live.ExecuteAsync(WalModeSql);
        return "file-swap";
    }

    /// <summary>The offline swap's incoming file beside the database; a crash may leave it, and the next start removes it.</summary>
    internal const string SwapSuffix = ".restore.partial";

    private const string QuickCheckSql = "PRAGMA quick_check;";

    private async Task<string> QuickCheckLiveAsync()
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(CancellationToken.None);
        var report = (await connection.QueryAsync<string>(new CommandDefinition(QuickCheckSql, commandTimeout: 0))).ToList();
        return string.Join("; ", report.Take(5));
    }
}
