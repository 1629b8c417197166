using System.Data.SQLite;
using System.Diagnostics;
using System.Globalization;
using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Options;
using CoreScope.Data.Restore;
using CoreScope.Data.Store;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Drills;

/// <summary>
/// Restore drills: proves a stored backup restorable by restoring it, into a scratch file in a staging folder of its
/// own under the backup temp folder, never into the live database. The stored file is streamed through the restore's
/// staging (<see cref="RestoreStaging"/>: gzip, caps, SHA-256 as it is read) and compared with its manifest, passes
/// the restore's checks (<see cref="RestoreChecks"/>: header, integrity, CoreScope tables, schema steps, migration),
/// and is copied with SQLite's backup API as a restore copies into the live file; the copy then gets
/// <c>integrity_check</c>, <c>foreign_key_check</c> and its rows per table compared with the manifest's.
/// The verdict goes into the manifest (<see cref="BackupStore.RecordDrillAsync"/>) and to
/// <see cref="BackupActivity.RecordDrill"/> (health, <c>/metrics</c>, the webhook).
/// </summary>
/// <remarks>
/// A drill takes the same gate as backups and restores (<see cref="SnapshotSlots"/>): it reads a whole backup and
/// writes two copies of it, and must not compete with a restore for the disk. Being refused (the gate is held, too
/// little disk) is not a verdict on the backup: it throws and records nothing. Everything found wrong with the backup
/// is a verdict: "failed", with its problems.
/// </remarks>
public sealed class DrillService(
    BackupStore store,
    SnapshotSlots slots,
    RestoreChecks checks,
    SqliteConnectionFactory connectionFactory,
    BackupActivity activity,
    IOptions<BackupOptions> backupOptions,
    IOptions<RestoreOptions> restoreOptions,
    TimeProvider timeProvider,
    ILogger<DrillService> logger)
{
    /// <summary>The scratch file the backup is restored into, in the drill's staging folder.</summary>
    public const string ScratchFileName = "drill.db";

    private const int MostProblemsListed = 5;

    private readonly BackupOptions _backupOptions = backupOptions.Value;
    private readonly RestoreOptions _restoreOptions = restoreOptions.Value;

    /// <summary>
    /// Drills the stored backup <paramref name="id"/> and returns its manifest with the verdict. Throws
    /// <see cref="StoredBackupNotFoundException"/> for an unknown id, <see cref="BackupBusyException"/> when another
    /// backup, restore or drill holds the gate, and <see cref="BackupFailedException"/> (insufficient storage) when the
    /// temp folder cannot hold the two copies.
    /// </summary>
    public async Task<BackupManifest> DrillAsync(string id, CancellationToken cancellationToken)
    {
        var manifest = store.Get(id);
        using var slot = await slots.AcquireAsync(cancellationToken);
        var at = timeProvider.GetUtcNow();
        var stopwatch = Stopwatch.StartNew();
        var tempDirectory = _backupOptions.ResolvedTempDirectory;
        EnsureFree(tempDirectory, 2 * manifest.SizeBytes, "the staged backup and the scratch copy it is restored into");
        using var staging = SnapshotFolders.Create(tempDirectory, SnapshotFolders.DrillPrefix);

        logger.LogInformation("Restore drill of stored backup {Id} started", id);
        var problems = await FindProblemsAsync(store.Get(id), staging.Path, cancellationToken);
        var outcome = problems.Count == 0 ? CheckOutcome.Passed : CheckOutcome.Failed;
        var drill = new BackupDrill
        {
            Outcome = MonitoringLabels.Of(outcome),
            At = at.UtcDateTime,
            DurationMs = stopwatch.ElapsedMilliseconds,
            Problems = problems,
        };

        // The verdict is kept even if the client left just now: the work is done, and the manifest is the record of it.
        var updated = await store.RecordDrillAsync(id, drill, CancellationToken.None);
        activity.RecordDrill(id, outcome, stopwatch.Elapsed, problems.FirstOrDefault());
        if (outcome == CheckOutcome.Passed)
        {
            logger.LogInformation("Restore drill of stored backup {Id} passed in {DurationMs} ms", id, drill.DurationMs);
        }
        else
        {
            logger.LogError("Restore drill of stored backup {Id} failed in {DurationMs} ms: {Problems}", id, drill.DurationMs, string.Join(" | ", problems));
        }

        return updated;
    }

    /// <summary>Drills the newest good stored backup; null when the store holds none.</summary>
    public async Task<BackupManifest?> DrillNewestAsync(CancellationToken cancellationToken)
    {
        var newest = store.List().FirstOrDefault(manifest => manifest.IsGood);
        return newest is null ? null : await DrillAsync(newest.Id, cancellationToken);
    }

    // Each step stops at the first thing that makes the next meaningless: bytes other than the ones stored are not
    // worth restoring, a file the checks refuse is never copied.
    private async Task<List<string>> FindProblemsAsync(BackupManifest manifest, string folder, CancellationToken cancellationToken)
    {
        if (manifest.Status != StoredBackupStatus.Ok)
        {
            return [$"The stored backup is damaged ({manifest.Status}): its file or manifest is not as the store wrote it, so it cannot be restored."];
        }

        try
        {
            var staged = await StageAsync(manifest, folder, cancellationToken);
            var sha256 = Convert.ToHexStringLower(staged.Sha256);
            if (!string.Equals(sha256, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                store.MarkModified(manifest.Id, sha256);
                return [$"The stored file was changed on disk after it was written: its SHA-256 is now {sha256}, its manifest says " +
                    $"{manifest.Sha256}. Delete it and rely on another backup."];
            }

            CheckedDatabase checkedDatabase;
            try
            {
                // Against the live database, as a restore of this backup would be checked; the scratch copy keeps its page size.
                var live = await checks.ReadLiveSchemaAsync(cancellationToken);
                checkedDatabase = await checks.CheckAsync(staged.DatabasePath, live, rebuildToPageSize: null, dropTriggers: false, cancellationToken);
            }
            catch (RestoreFailedException refused)
            {
                return ["A restore would refuse it: " + refused.Message];
            }

            var scratch = Path.Combine(folder, ScratchFileName);
            EnsureFree(folder, new FileInfo(staged.DatabasePath).Length, "the scratch copy the backup is restored into");
            await CopyAsync(staged.DatabasePath, scratch, cancellationToken);

            // The staged file has served its purpose; the disk gets its room back before the long checks.
            StagingFiles.TryDelete(staged.DatabasePath);
            return await CheckRestoredAsync(scratch, manifest, checkedDatabase.SchemaStepsApplied.Count, cancellationToken);
        }
        catch (Exception exception) when (exception is SQLiteException { ResultCode: SQLiteErrorCode.Interrupt } && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The drill was cancelled.", exception, cancellationToken);
        }
        catch (Exception exception) when (exception is SQLiteException or IOException or RestoreFailedException && !IsDiskFull(exception, folder))
        {
            // What SQLite or the disk said of the backup or its copy (EIO from a bad sector, SQLITE_CORRUPT) is the verdict.
            // A file system message names server paths: it stays in the log, and the problem (which reaches the webhook)
            // says what kind of failure it was.
            logger.LogError(exception, "Restore drill of stored backup {Id}: the backup could not be restored", manifest.Id);
            return [exception is IOException
                ? $"The backup could not be restored: reading it or writing its copy failed ({exception.GetType().Name}). The server's log has the details."
                : "The backup could not be restored: " + exception.Message];
        }
        catch (Exception exception) when (IsDiskFull(exception, folder))
        {
            throw new BackupFailedException(BackupFailure.InsufficientStorage,
                $"The disk of the backup temp folder filled up during the restore drill of {manifest.Id}; the drill was stopped and " +
                "its files removed, and nothing was recorded. Free some space or point CoreScope:Backup:TempDirectory at a larger disk.",
                exception);
        }
    }

    private async Task<StagedFile> StageAsync(BackupManifest manifest, string folder, CancellationToken cancellationToken)
    {
        await using var file = StagingFiles.OpenSequentialRead(Path.Combine(store.Folder, manifest.FileName), StagingFiles.CopyBufferBytes);
        return await RestoreStaging.StageAsync(
            file, folder, long.MaxValue, _restoreOptions.MaxDatabaseMB * DiskSpace.Megabyte, cancellationToken);
    }

    // The scratch file is thrown away after the checks: no fsyncs, no journal worth keeping.
    private const string ScratchConnectionSql = "PRAGMA synchronous = OFF;";

    // What RestoreService does to the live file: the backup API in one step (-1), retried every 50 ms while busy. The
    // scratch file is new and not in WAL mode, so the pages go straight into it rather than through a WAL first: the
    // drill needs room for two copies of the database, not three.
    private async Task CopyAsync(string stagedFile, string scratch, CancellationToken cancellationToken)
    {
        await using var source = await connectionFactory.OpenFileAsync(stagedFile, readOnly: true, cancellationToken);
        await using var target = await connectionFactory.OpenFileAsync(scratch, readOnly: false, cancellationToken);
        await target.ExecuteAsync(new CommandDefinition(ScratchConnectionSql, cancellationToken: cancellationToken));
        await Task.Run(() => source.BackupDatabase(target, "main", "main", -1, null, 50), cancellationToken);
    }

    // As RestoreChecks reads its staging copy: through a memory map, which spares integrity_check most of its system time.
    private const string ReadConnectionSql = "PRAGMA mmap_size = 2147418112;";

    private const string IntegrityCheckSql = "PRAGMA integrity_check;";

    private const string ForeignKeyCheckSql = """SELECT "table" AS ChildTable, rowid AS RowId, parent AS ParentTable FROM pragma_foreign_key_check;""";

    // Properties, not a positional record: pragma_foreign_key_check's columns have no declared type, so Dapper sees them as
    // Object and finds no constructor to match.
    private sealed class ForeignKeyViolation
    {
        public string ChildTable { get; init; } = "";

        public long? RowId { get; init; }

        public string ParentTable { get; init; } = "";
    }

    private async Task<List<string>> CheckRestoredAsync(string scratch, BackupManifest manifest, int stepsApplied, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        await using var connection = await OpenForChecksAsync(scratch, cancellationToken);

        // sqlite3_interrupt stops a long check when the drill is cancelled (the client left, the server stops).
        using var interrupt = cancellationToken.Register(connection.Cancel);
        var integrity = (await connection.QueryAsync<string>(
            new CommandDefinition(IntegrityCheckSql, cancellationToken: cancellationToken, commandTimeout: 0))).ToList();
        if (integrity is not ["ok"])
        {
            problems.Add("PRAGMA integrity_check of the restored copy reported: " + string.Join("; ", integrity.Take(MostProblemsListed)) +
                (integrity.Count > MostProblemsListed ? $" (and {integrity.Count - MostProblemsListed} more)" : ""));
        }

        var violations = (await connection.QueryAsync<ForeignKeyViolation>(
            new CommandDefinition(ForeignKeyCheckSql, cancellationToken: cancellationToken, commandTimeout: 0))).ToList();
        if (violations.Count > 0)
        {
            problems.Add($"PRAGMA foreign_key_check of the restored copy found {violations.Count} row(s) whose parent row is missing: " +
                string.Join("; ", violations.Take(MostProblemsListed).Select(v => $"{v.ChildTable} rowid {v.RowId} → {v.ParentTable}")));
        }

        var rows = await DatabaseFacts.CountRowsAsync(connection, cancellationToken);
        foreach (var (table, expected) in manifest.Rows)
        {
            // Schema steps a restore gives an older backup are rows of _migrations its manifest could not count.
            var wanted = table == "_migrations" ? expected + stepsApplied : expected;
            if (!rows.TryGetValue(table, out var actual))
            {
                problems.Add($"The restored copy has no table {table}; the manifest lists it with {expected} rows.");
            }
            else if (actual != wanted)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture,
                    $"Table {table} has {actual} rows in the restored copy; the manifest says {wanted}."));
            }
        }

        return problems;
    }

    private async Task<SQLiteConnection> OpenForChecksAsync(string file, CancellationToken cancellationToken)
    {
        var connection = await connectionFactory.OpenFileAsync(file, readOnly: true, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(ReadConnectionSql, cancellationToken: cancellationToken));
        return connection;
    }

    private void EnsureFree(string folder, long bytes, string what)
    {
        var needed = bytes + _backupOptions.FreeSpaceMarginMB * DiskSpace.Megabyte;
        var free = DiskSpace.FreeBytes(folder);
        if (free < needed)
        {
            throw new BackupFailedException(BackupFailure.InsufficientStorage,
                $"Not enough free space in the backup temp folder for a restore drill: it needs {Megabytes(needed)} MB " +
                $"({what}, plus a {_backupOptions.FreeSpaceMarginMB} MB margin) and {Megabytes(free)} MB is free. " +
                "Nothing was drilled. Free some space or point CoreScope:Backup:TempDirectory at a larger disk.");
        }
    }

    private static string Megabytes(long bytes) => (bytes / (double)DiskSpace.Megabyte).ToString("0.0", CultureInfo.InvariantCulture);

    private static bool IsDiskFull(Exception exception, string folder)
    {
        var diskError = exception switch
        {
            IOException => true,
            SQLiteException sqlite => ((SQLiteErrorCode)((int)sqlite.ResultCode & 0xFF)) is SQLiteErrorCode.Full or SQLiteErrorCode.IoErr,
            _ => false,
        };
        return diskError && DiskSpace.IsFull(Path.Combine(folder, ScratchFileName));
    }
}
