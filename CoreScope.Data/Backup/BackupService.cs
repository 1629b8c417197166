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

    /// <summary>
    /// Writes a snapshot of the database as it is at one point in time. Throws <see cref="BackupBusyException"/>
    /// when too many snapshots exist already, and <see cref="BackupFailedException"/> when it fails; in both
    /// cases nothing is left on disk. The caller owns the snapshot and disposes it when it is done with the file.
    /// </summary>
    public async Task<BackupSnapshot> CreateSnapshotAsync(SnapshotRequest request, CancellationToken cancellationToken)
    {
        var slot = await slots.AcquireAsync(cancellationToken);
        string folder;
        try
        {
            folder = SnapshotFolders.Create(TempDirectory);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Without this the slot stayed taken and every later backup was a 429 until a restart
            // (BackupErrorsTests.Backup_TempFolderCannotBeCreated_Returns500WithItsReason_AndFreesItsSlot).
            slot.Dispose();
            throw SnapshotFailures.Classify(exception, TempDirectory);
        }

        var snapshot = new BackupSnapshot(folder, slot)
        {
            CreatedAt = timeProvider.GetUtcNow(),
            Gzip = request.Gzip,
            CompressionLevel = _options.CompressionLevel,
            Method = request.Method ?? _options.DefaultMethod,
        };
        try
        {
            var databaseFile = Path.Combine(folder, "corescope.db");
            var stopwatch = Stopwatch.StartNew();
            await WriteCopyAsync(snapshot.Method, databaseFile, request, cancellationToken);
            snapshot.SnapshotDuration = stopwatch.Elapsed;
            (snapshot.Transmissions, snapshot.Observations) = await CountRowsAsync(databaseFile, cancellationToken);
            snapshot.FilePath = databaseFile;

            if (request.Verify)
            {
                await VerifyIntegrityAsync(databaseFile, cancellationToken);
                if (request.Gzip)
                {
                    snapshot.FilePath = await StagingFiles.CompressAsync(databaseFile, _options.CompressionLevel, cancellationToken);
                    snapshot.IsCompressedOnDisk = true;
                }

                snapshot.Sha256 = await StagingFiles.HashAsync(snapshot.FilePath, cancellationToken);
            }

            snapshot.Length = new FileInfo(snapshot.FilePath).Length;
            return snapshot;
        }
        catch (Exception exception)
        {
            await snapshot.DisposeAsync();
            if (exception is OperationCanceledException or BackupFailedException)
            {
                throw;
            }

            if (exception is SQLiteException { ResultCode: SQLiteErrorCode.Interrupt } && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The snapshot was cancelled.", exception, cancellationToken);
            }

            throw SnapshotFailures.Classify(exception, folder);
        }
    }

    private const string UsedBytesSql = """
        SELECT (page_count - freelist_count) * page_size
        FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size();
        """;

    // For the snapshot's connection only. VACUUM INTO writes its target with the connection's synchronous setting:
    // the snapshot is a staging file that is deleted after its response and swept after a crash, so fsyncs buy
    // nothing. On a 1 GB database this took the snapshot from 4.5 s to 4.1 s (docs/benchmarks.md); a larger page
    // cache was tried too and made no difference.
    private const string SnapshotConnectionSql = "PRAGMA synchronous = OFF;";

    private const string VacuumIntoSql = "VACUUM INTO @path;";

    private async Task WriteCopyAsync(SnapshotMethod method, string databaseFile, SnapshotRequest request, CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        var usedBytes = await connection.ExecuteScalarAsync<long>(new CommandDefinition(UsedBytesSql, cancellationToken: cancellationToken));

        // Compressing ahead (verify and gzip) writes the gzip beside the database before the database goes.
        var snapshotBytes = request is { Verify: true, Gzip: true } ? 2 * usedBytes : usedBytes;
        DiskSpace.EnsureFree(Path.GetDirectoryName(databaseFile)!, snapshotBytes, usedBytes, _options.FreeSpaceMarginMB);

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
    // fails half-way is deleted with its folder, and the download reads it only after it is complete.
    private async Task CopyPagesAsync(SQLiteConnection source, string target, CancellationToken cancellationToken)
    {
        await using var destination = await connectionFactory.OpenFileAsync(target, readOnly: false, cancellationToken);
        await destination.ExecuteAsync(new CommandDefinition(UnjournaledTargetSql, cancellationToken: cancellationToken));
        source.BackupDatabase(destination, "main", "main", -1, null, 0);
    }

    private const string CountRowsSql = """
        SELECT (SELECT COUNT(*) FROM transmissions) AS Transmissions,
               (SELECT COUNT(*) FROM observations) AS Observations;
        """;

    private async Task<(long Transmissions, long Observations)> CountRowsAsync(string file, CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenFileAsync(file, readOnly: true, cancellationToken);
        return await connection.QuerySingleAsync<(long, long)>(new CommandDefinition(CountRowsSql, cancellationToken: cancellationToken));
    }

    private const string IntegrityCheckSql = "PRAGMA integrity_check;";

    /// <summary>Runs <c>PRAGMA integrity_check</c> on a snapshot file; throws when it reports anything but "ok".</summary>
    public async Task VerifyIntegrityAsync(string file, CancellationToken cancellationToken)
    {
        List<string> report;
        try
        {
            await using var connection = await connectionFactory.OpenFileAsync(file, readOnly: true, cancellationToken);
            report = (await connection.QueryAsync<string>(new CommandDefinition(IntegrityCheckSql, cancellationToken: cancellationToken))).ToList();
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
}
