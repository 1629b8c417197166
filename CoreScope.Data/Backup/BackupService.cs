using System.Data.SQLite;
using System.Diagnostics;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using Dapper;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Backup;

/// <summary>
/// Makes consistent snapshots of the live database on a read-only connection, each in a staging folder of its
/// own: take a slot, check the disk, write the copy (<c>VACUUM INTO</c> or the online backup API), count its rows,
/// then verify, compress and hash when asked. The read transaction lasts only while the copy is written, so
/// writers are never blocked and a slow download never holds back the WAL checkpoint.
/// </summary>
public sealed class BackupService(
    SqliteConnectionFactory connectionFactory,
    SnapshotSlots slots,
    IOptions<BackupOptions> options,
    TimeProvider timeProvider)
{
    private readonly BackupOptions _options = options.Value;

    /// <summary>The folder snapshots are staged in.</summary>
    public string TempDirectory => _options.ResolvedTempDirectory;

    /// <summary>Writes a snapshot that nothing but the slot and the disk can refuse (see the overload with an admission).</summary>
    public Task<BackupSnapshot> CreateSnapshotAsync(SnapshotRequest request, CancellationToken cancellationToken) =>
        CreateSnapshotAsync(request, admission: null, cancellationToken);

    /// <summary>
    /// Writes a snapshot of the database as it is at one point in time. Throws <see cref="BackupBusyException"/>
    /// when too many snapshots exist already, <see cref="BackupFailedException"/> when it fails, and what
    /// <paramref name="admission"/> throws when it refuses; in every case nothing is left on disk. The caller owns the
    /// snapshot and disposes it when it is done with the file.
    /// </summary>
    public async Task<BackupSnapshot> CreateSnapshotAsync(SnapshotRequest request, ISnapshotAdmission? admission, CancellationToken cancellationToken)
    {
        var slot = await slots.AcquireAsync(cancellationToken);
        StagingFolder staging;
        try
        {
            staging = SnapshotFolders.Create(TempDirectory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Without this the slot stayed taken and every later backup was a 429 until a restart
            // (BackupErrorsTests.Backup_TempFolderCannotBeCreated_Returns500WithoutServerPaths_FreesItsSlot_AndLogsThePath).
            slot.Dispose();
            throw SnapshotFailures.Classify(exception, TempDirectory);
        }

        var folder = staging.Path;
        var snapshot = new BackupSnapshot(folder, slot, staging)
        {
            CreatedAt = timeProvider.GetUtcNow(),
            Gzip = request.Gzip,
            CompressionLevel = _options.CompressionLevel,
            Method = request.Method ?? _options.DefaultMethod,
        };
        try
        {
            // Compressing ahead (verify and gzip) writes the gzip beside the database before the database goes.
            var copies = request is { Verify: true, Gzip: true } ? 2 : 1;
            await WriteAndDescribeAsync(snapshot, Path.Combine(folder, "corescope.db"), copies, StorageLocation.TempFolder, admission, cancellationToken);

            if (request.Verify)
            {
                await VerifyIntegrityAsync(snapshot.FilePath, cancellationToken);
                if (request.Gzip)
                {
                    snapshot.FilePath = await StagingFiles.CompressAsync(snapshot.FilePath, _options.CompressionLevel, cancellationToken);
                    snapshot.IsCompressedOnDisk = true;
                }

                snapshot.Sha256 = await StagingFiles.HashAsync(snapshot.FilePath, cancellationToken);
            }

            snapshot.Length = new FileInfo(snapshot.FilePath).Length;
            return snapshot;
        }
        catch (Exception exception)
        {
            throw await FailAsync(snapshot, exception, folder, StorageLocation.TempFolder, cancellationToken);
        }
    }

    /// <summary>
    /// Writes a snapshot straight into <paramref name="targetFile"/> (which must not exist), for a caller that keeps
    /// the file, such as the backup store: the same slot, disk guard, copy and row counts as a download's snapshot,
    /// without a staging folder, so a stored backup never needs a second copy on disk. <paramref name="copies"/> is
    /// how many copies of the data the caller's folder must have room for (2 when it compresses the file after).
    /// Disposing the snapshot frees the slot and deletes <see cref="BackupSnapshot.FilePath"/> if it is still there,
    /// so a caller that keeps the file moves it away first. A caller that holds a slot already (a restore storing its
    /// safety copy) passes it as <paramref name="heldSlot"/>: the snapshot runs under it and leaves it held.
    /// </summary>
    public async Task<BackupSnapshot> CreateSnapshotFileAsync(
        string targetFile, SnapshotMethod? method, int copies, StorageLocation location, IDisposable? heldSlot, CancellationToken cancellationToken)
    {
        var slot = heldSlot is null ? await slots.AcquireAsync(cancellationToken) : slots.Borrow(heldSlot);
        var folder = Path.GetDirectoryName(Path.GetFullPath(targetFile))!;
        var snapshot = new BackupSnapshot(folder, slot, stagingFolder: null)
        {
            CreatedAt = timeProvider.GetUtcNow(),
            CompressionLevel = _options.CompressionLevel,
            Method = method ?? _options.DefaultMethod,
        };
        try
        {
            if (File.Exists(targetFile))
            {
                throw new IOException($"{targetFile} exists already; a snapshot never overwrites a file.");
            }

            await WriteAndDescribeAsync(snapshot, targetFile, copies, location, admission: null, cancellationToken);
            snapshot.Length = new FileInfo(targetFile).Length;
            return snapshot;
        }
        catch (Exception exception)
        {
            throw await FailAsync(snapshot, exception, folder, location, cancellationToken);
        }
    }

    private async Task WriteAndDescribeAsync(
        BackupSnapshot snapshot, string databaseFile, int copies, StorageLocation location, ISnapshotAdmission? admission, CancellationToken cancellationToken)
    {
        // The file exists from the first page on: the snapshot's disposal must find it, whatever fails next.
        snapshot.FilePath = databaseFile;
        var stopwatch = Stopwatch.StartNew();
        await WriteCopyAsync(snapshot.Method, databaseFile, copies, location, admission, cancellationToken);
        snapshot.SnapshotDuration = stopwatch.Elapsed;
        (snapshot.Rows, snapshot.SchemaSteps) = await DescribeAsync(databaseFile, cancellationToken);
    }

    // Classified before the partial file goes: a disk the snapshot filled up has room again once it is deleted, and
    // SQLite's I/O error on a full disk is a 507 only while the disk is still full.
    private static async Task<Exception> FailAsync(
        BackupSnapshot snapshot, Exception exception, string folder, StorageLocation location, CancellationToken cancellationToken)
    {
        var failure = Translate(exception, folder, location, cancellationToken);
        await snapshot.DisposeAsync();
        return failure;
    }

    private static Exception Translate(Exception exception, string folder, StorageLocation location, CancellationToken cancellationToken) =>
        exception switch
        {
            OperationCanceledException or BackupFailedException => exception,
            AdmissionRefused refused => refused.InnerException!,
            SQLiteException { ResultCode: SQLiteErrorCode.Interrupt } when cancellationToken.IsCancellationRequested =>
                new OperationCanceledException("The snapshot was cancelled.", exception, cancellationToken),
            _ => SnapshotFailures.Classify(exception, folder, location),
        };

    private const string UsedBytesSql = """
        SELECT (page_count - freelist_count) * page_size AS Used, page_count * page_size AS Total
        FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size();
        """;

    // For the snapshot's connection only. VACUUM INTO writes its target with the connection's synchronous setting:
    // a download's snapshot is deleted after its response and swept after a crash, and a stored backup is fsynced
    // once when it is complete, so per-page fsyncs buy nothing. On a 1 GB database this took the snapshot from 4.5 s
    // to 4.1 s (docs/benchmarks.md); a larger page cache was tried too and made no difference.
    private const string SnapshotConnectionSql = "PRAGMA synchronous = OFF;";

    private const string VacuumIntoSql = "VACUUM INTO @path;";

    private async Task WriteCopyAsync(
        SnapshotMethod method, string databaseFile, int copies, StorageLocation location, ISnapshotAdmission? admission, CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        var (usedBytes, totalBytes) = await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(UsedBytesSql, cancellationToken: cancellationToken));

        // VACUUM INTO writes the used pages; the backup API copies every page, free ones included.
        var copyBytes = method == SnapshotMethod.Pages ? totalBytes : usedBytes;
        DiskSpace.EnsureFree(Path.GetDirectoryName(databaseFile)!, copyBytes, copies, copiesFreePages: method == SnapshotMethod.Pages, _options.FreeSpaceMarginMB, location);

        try
        {
            admission?.Admit();
        }
        catch (Exception exception)
        {
            throw new AdmissionRefused(exception);
        }

        await connection.ExecuteAsync(new CommandDefinition(SnapshotConnectionSql, cancellationToken: cancellationToken));

        // sqlite3_interrupt stops a long snapshot when the client goes away.
        using var interrupt = cancellationToken.Register(connection.Cancel);
        if (method == SnapshotMethod.Pages)
        {
            await CopyPagesAsync(connection, databaseFile, cancellationToken);
        }
        else
        {
            await connection.ExecuteAsync(new CommandDefinition(VacuumIntoSql, new { path = databaseFile }, cancellationToken: cancellationToken));
        }
    }

    private const string UnjournaledTargetSql = "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;";

    // The online backup API in one step (-1 pages): one read transaction on the source, so the copy is one point in
    // time however busy the writers are. The target needs no journal or fsync while it is written: a copy that
    // fails half-way is deleted, and nothing reads it before it is complete.
    private async Task CopyPagesAsync(SQLiteConnection source, string target, CancellationToken cancellationToken)
    {
        await using var destination = await connectionFactory.OpenFileAsync(target, readOnly: false, cancellationToken);
        await destination.ExecuteAsync(new CommandDefinition(UnjournaledTargetSql, cancellationToken: cancellationToken));
        source.BackupDatabase(destination, "main", "main", -1, null, 0);
    }

    private const string TablesSql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name;";

    private const string SchemaStepsSql = "SELECT name FROM _migrations ORDER BY rowid;";

    // Every table of the copy with its row count, and the schema steps it records: what a manifest says of a backup
    // and what a restore checks against. Counted on the finished file, so they describe exactly what was written.
    private async Task<(IReadOnlyDictionary<string, long> Rows, IReadOnlyList<string> SchemaSteps)> DescribeAsync(
        string file, CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenFileAsync(file, readOnly: true, cancellationToken);
        var tables = (await connection.QueryAsync<string>(new CommandDefinition(TablesSql, cancellationToken: cancellationToken))).ToList();
        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in tables)
        {
            // Table names come from the copy's own sqlite_master, quoted as identifiers.
            rows[table] = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                $"SELECT COUNT(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\";", cancellationToken: cancellationToken));
        }

        var steps = tables.Contains("_migrations")
            ? (await connection.QueryAsync<string>(new CommandDefinition(SchemaStepsSql, cancellationToken: cancellationToken))).ToList()
            : [];
        return (rows, steps);
    }

    /// <summary>Runs <c>PRAGMA integrity_check</c> on a snapshot file; throws when it reports anything but "ok".</summary>
    public async Task VerifyIntegrityAsync(string file, CancellationToken cancellationToken)
    {
        List<string> report;
        try
        {
            report = await CheckIntegrityAsync(file, cancellationToken);
        }
        catch (SQLiteException exception)
        {
            throw new BackupFailedException(BackupFailure.VerificationFailed,
                "The snapshot failed verification: SQLite could not check it (" + exception.ResultCode + "). Nothing was sent.", exception);
        }

        if (report is not ["ok"])
        {
            throw new BackupFailedException(BackupFailure.VerificationFailed,
                "The snapshot failed PRAGMA integrity_check, so nothing was sent: " + string.Join("; ", report.Take(5)) +
                ". Check the live database with PRAGMA integrity_check.");
        }
    }

    // SQLite stops after 100 problems by default; the first few are what an operator acts on.
    private const string IntegrityCheckSql = "PRAGMA integrity_check;";

    // The same without matching indexes to tables: 2.3 s against 34 s on the 1 GiB bench database.
    private const string QuickCheckSql = "PRAGMA quick_check;";

    /// <summary>
    /// What <c>PRAGMA integrity_check</c> (or with <paramref name="quick"/>, <c>quick_check</c>) reports on a snapshot
    /// file: <c>["ok"]</c>, or its first problems. Throws the SQLite error when the file cannot be checked at all.
    /// </summary>
    public async Task<List<string>> CheckIntegrityAsync(string file, CancellationToken cancellationToken, bool quick = false)
    {
        await using var connection = await connectionFactory.OpenFileAsync(file, readOnly: true, cancellationToken);
        using var interrupt = cancellationToken.Register(connection.Cancel);
        return (await connection.QueryAsync<string>(new CommandDefinition(quick ? QuickCheckSql : IntegrityCheckSql, cancellationToken: cancellationToken))).ToList();
    }

    // Carries the admission's refusal past the classification of failures, to be thrown to the caller as it was.
    private sealed class AdmissionRefused(Exception refusal) : Exception(refusal.Message, refusal);
}
