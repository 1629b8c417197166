using System.Data.SQLite;
using System.Diagnostics;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Backup;

/// <summary>
/// Makes consistent snapshots of the live database with <c>VACUUM INTO</c> on a read-only connection, each in a
/// staging folder of its own. The read transaction lasts only while the snapshot is written, so writers are
/// never blocked and a slow download never holds back the WAL checkpoint.
/// </summary>
public sealed class BackupService(
    SqliteConnectionFactory connectionFactory,
    IOptions<BackupOptions> options,
    TimeProvider timeProvider,
    ILogger<BackupService> logger)
{
    private const long Megabyte = 1024 * 1024;
    private readonly BackupOptions _options = options.Value;

    /// <summary>The folder snapshots are staged in.</summary>
    public string TempDirectory => _options.ResolvedTempDirectory;

    private const string UsedBytesSql = """
        SELECT (page_count - freelist_count) * page_size
        FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size();
        """;

    private const string VacuumIntoSql = "VACUUM INTO @path;";

    /// <summary>
    /// Writes a snapshot of the database as it is at one point in time. On failure the staging folder is
    /// removed and a <see cref="BackupFailedException"/> says why.
    /// </summary>
    public async Task<BackupSnapshot> CreateSnapshotAsync(CancellationToken cancellationToken)
    {
        var createdAt = timeProvider.GetUtcNow();
        var folder = SnapshotFolders.Create(TempDirectory);
        var file = Path.Combine(folder, "corescope.db");
        try
        {
            var stopwatch = Stopwatch.StartNew();
            await using (var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken))
            {
                var usedBytes = await connection.ExecuteScalarAsync<long>(
                    new CommandDefinition(UsedBytesSql, cancellationToken: cancellationToken));
                EnsureFreeSpace(folder, usedBytes);

                // sqlite3_interrupt stops a long VACUUM INTO when the client goes away.
                using var interrupt = cancellationToken.Register(connection.Cancel);
                await connection.ExecuteAsync(new CommandDefinition(
                    VacuumIntoSql, new { path = file }, cancellationToken: cancellationToken));
            }

            stopwatch.Stop();
            var (transmissions, observations) = await CountRowsAsync(file, cancellationToken);
            var snapshot = new BackupSnapshot(
                folder, file, new FileInfo(file).Length, createdAt, stopwatch.Elapsed, transmissions, observations);
            logger.LogDebug("Snapshot {Folder} written in {Ms} ms", folder, stopwatch.ElapsedMilliseconds);
            return snapshot;
        }
        catch (Exception exception)
        {
            SnapshotFolders.TryDelete(folder);
            if (exception is OperationCanceledException or BackupFailedException)
            {
                throw;
            }

            if (exception is SQLiteException { ResultCode: SQLiteErrorCode.Interrupt } && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The snapshot was cancelled.", exception, cancellationToken);
            }

            throw Classify(exception, folder);
        }
    }

    /// <summary>Removes staging folders a crashed or killed process left behind; returns how many.</summary>
    public int SweepStaleSnapshots()
    {
        var removed = 0;
        foreach (var folder in SnapshotFolders.Find(TempDirectory))
        {
            if (SnapshotFolders.TryDelete(folder))
            {
                removed++;
            }
            else
            {
                logger.LogWarning("Could not remove the stale snapshot folder {Folder}", folder);
            }
        }

        return removed;
    }

    private void EnsureFreeSpace(string folder, long usedBytes)
    {
        var margin = _options.FreeSpaceMarginMB * Megabyte;
        var needed = usedBytes + margin;
        var free = FreeBytes(folder);
        if (free < needed)
        {
            throw new BackupFailedException(
                BackupFailure.InsufficientStorage,
                $"Not enough free space in the backup temp folder: the snapshot needs {ToMegabytes(needed)} MB " +
                $"({ToMegabytes(usedBytes)} MB of data plus a {_options.FreeSpaceMarginMB} MB margin) and {ToMegabytes(free)} MB " +
                "is free. Free some space or point CoreScope:Backup:TempDirectory at a larger disk.");
        }
    }

    private static long FreeBytes(string folder) => new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace;

    private static string ToMegabytes(long bytes) => (bytes / (double)Megabyte).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);

    private const string CountRowsSql = """
        SELECT (SELECT COUNT(*) FROM transmissions) AS Transmissions,
               (SELECT COUNT(*) FROM observations) AS Observations;
        """;

    private async Task<(long Transmissions, long Observations)> CountRowsAsync(string file, CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenFileAsync(file, readOnly: true, cancellationToken);
        var counts = await connection.QuerySingleAsync<(long, long)>(
            new CommandDefinition(CountRowsSql, cancellationToken: cancellationToken));
        return counts;
    }

    private static BackupFailedException Classify(Exception exception, string folder)
    {
        if (exception is SQLiteException sqlite)
        {
            switch (sqlite.ResultCode)
            {
                case SQLiteErrorCode.Full:
                    return new BackupFailedException(
                        BackupFailure.InsufficientStorage,
                        "The backup temp folder's disk filled up while the snapshot was written; the partial file was removed. " +
                        "Free some space or point CoreScope:Backup:TempDirectory at a larger disk.",
                        exception);
                case SQLiteErrorCode.Corrupt or SQLiteErrorCode.NotADb:
                    return new BackupFailedException(
                        BackupFailure.DatabaseUnreadable,
                        "The live database could not be read: SQLite reports it damaged (" + sqlite.ResultCode + "). " +
                        "No backup was made. Run PRAGMA integrity_check on it and restore from an earlier backup.",
                        exception);
            }
        }

        if (exception is IOException && FreeBytesOrMax(folder) < Megabyte)
        {
            return new BackupFailedException(
                BackupFailure.InsufficientStorage,
                "The backup temp folder's disk is full; the partial file was removed.",
                exception);
        }

        return new BackupFailedException(BackupFailure.Failed, "The snapshot failed: " + exception.Message, exception);
    }

    private static long FreeBytesOrMax(string folder)
    {
        try
        {
            return FreeBytes(Path.GetDirectoryName(folder) ?? folder);
        }
        catch (IOException)
        {
            return long.MaxValue;
        }
    }
}
