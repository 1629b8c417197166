using System.Data.SQLite;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Threading.RateLimiting;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Backup;

/// <summary>
/// Makes consistent snapshots of the live database with <c>VACUUM INTO</c> on a read-only connection, each in a
/// staging folder of its own. The read transaction lasts only while the snapshot is written, so writers are
/// never blocked and a slow download never holds back the WAL checkpoint. At most
/// <see cref="BackupOptions.MaxConcurrent"/> snapshots exist at once, from the start of one to its deletion.
/// </summary>
public sealed class BackupService : IDisposable
{
    private const long Megabyte = 1024 * 1024;
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LongestRetryAfter = TimeSpan.FromMinutes(5);

    // A client has all the bytes of a download a moment before the server has deleted the snapshot and freed its
    // place (unlinking a 1 GB file takes ~100 ms). A script that downloads again straight away waits that moment
    // out instead of being refused; anything longer is a real overlap and gets the 429.
    private static readonly TimeSpan SlotWait = TimeSpan.FromSeconds(2);

    private readonly SqliteConnectionFactory _connectionFactory;
    private readonly BackupOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<BackupService> _logger;
    private readonly ConcurrencyLimiter _slots;
    private long _lastLifetimeTicks;

    public BackupService(
        SqliteConnectionFactory connectionFactory,
        IOptions<BackupOptions> options,
        TimeProvider timeProvider,
        ILogger<BackupService> logger)
    {
        _connectionFactory = connectionFactory;
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;

        // The framework's concurrency limiter with a queue as short as the limit: requests beyond limit + queue are
        // refused at once, and a queued one waits at most SlotWait (see CreateSnapshotAsync).
        _slots = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = _options.MaxConcurrent,
            QueueLimit = _options.MaxConcurrent,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>The folder snapshots are staged in.</summary>
    public string TempDirectory => _options.ResolvedTempDirectory;

    private const string UsedBytesSql = """
        SELECT (page_count - freelist_count) * page_size
        FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size();
        """;

    private const string VacuumIntoSql = "VACUUM INTO @path;";

    // For the snapshot's connection only. VACUUM INTO writes its target with the connection's synchronous setting:
    // the snapshot is a staging file that is deleted after its response and swept after a crash, so fsyncs buy
    // nothing. On a 1 GB database this took the snapshot from 4.5 s to 4.1 s (docs/benchmarks.md); a larger page
    // cache was tried too and made no difference.
    private const string SnapshotConnectionSql = "PRAGMA synchronous = OFF;";

    /// <summary>
    /// Writes a snapshot of the database as it is at one point in time. Throws <see cref="BackupBusyException"/>
    /// when too many snapshots exist already, and <see cref="BackupFailedException"/> when it fails; in both
    /// cases nothing is left on disk.
    /// </summary>
    public async Task<BackupSnapshot> CreateSnapshotAsync(SnapshotRequest request, CancellationToken cancellationToken)
    {
        var slot = await AcquireSlotAsync(cancellationToken);

        var folder = SnapshotFolders.Create(TempDirectory);
        var method = request.Method ?? _options.DefaultMethod;
        var snapshot = new BackupSnapshot(folder, slot, RecordLifetime)
        {
            CreatedAt = _timeProvider.GetUtcNow(),
            Gzip = request.Gzip,
            Method = method,
        };
        var databaseFile = Path.Combine(folder, "corescope.db");
        try
        {
            var stopwatch = Stopwatch.StartNew();
            await using (var connection = await _connectionFactory.OpenReadOnlyAsync(cancellationToken))
            {
                var usedBytes = await connection.ExecuteScalarAsync<long>(
                    new CommandDefinition(UsedBytesSql, cancellationToken: cancellationToken));

                // Compressing ahead (verify and gzip) writes the gzip beside the database before the database goes.
                EnsureFreeSpace(folder, request is { Verify: true, Gzip: true } ? 2 * usedBytes : usedBytes, usedBytes);

                await connection.ExecuteAsync(new CommandDefinition(SnapshotConnectionSql, cancellationToken: cancellationToken));

                // sqlite3_interrupt stops a long snapshot when the client goes away.
                using var interrupt = cancellationToken.Register(connection.Cancel);
                if (method == SnapshotMethod.Pages)
                {
                    await CopyPagesAsync(connection, databaseFile, cancellationToken);
                }
                else
                {
                    await connection.ExecuteAsync(new CommandDefinition(
                        VacuumIntoSql, new { path = databaseFile }, cancellationToken: cancellationToken));
                }
            }

            snapshot.SnapshotDuration = stopwatch.Elapsed;
            (snapshot.Transmissions, snapshot.Observations) = await CountRowsAsync(databaseFile, cancellationToken);
            snapshot.FilePath = databaseFile;

            if (request.Verify)
            {
                await VerifyIntegrityAsync(databaseFile, cancellationToken);
                if (request.Gzip)
                {
                    snapshot.FilePath = await CompressAsync(databaseFile, cancellationToken);
                    snapshot.IsCompressedOnDisk = true;
                }

                snapshot.Sha256 = await HashAsync(snapshot.FilePath, cancellationToken);
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

            throw Classify(exception, folder);
        }
    }

    // The online backup API in one step (-1 pages): one read transaction on the source, so the copy is one point in
    // time however busy the writers are. The target needs no journal or fsync while it is written: a copy that
    // fails half-way is deleted with its folder, and the download reads it only after it is complete.
    private async Task CopyPagesAsync(SQLiteConnection source, string target, CancellationToken cancellationToken)
    {
        await using var destination = await _connectionFactory.OpenFileAsync(target, readOnly: false, cancellationToken);
        await destination.ExecuteAsync(new CommandDefinition(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;", cancellationToken: cancellationToken));
        source.BackupDatabase(destination, "main", "main", -1, null, 0);
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
                _logger.LogWarning("Could not remove the stale snapshot folder {Folder}", folder);
            }
        }

        return removed;
    }

    public void Dispose() => _slots.Dispose();

    private async Task<RateLimitLease> AcquireSlotAsync(CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(SlotWait);
        RateLimitLease slot;
        try
        {
            slot = await _slots.AcquireAsync(1, wait.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BackupBusyException(_options.MaxConcurrent, EstimateRetryAfter());
        }

        if (!slot.IsAcquired)
        {
            slot.Dispose();
            throw new BackupBusyException(_options.MaxConcurrent, EstimateRetryAfter());
        }

        return slot;
    }

    private void RecordLifetime(BackupSnapshot snapshot) =>
        Interlocked.Exchange(ref _lastLifetimeTicks, (_timeProvider.GetUtcNow() - snapshot.CreatedAt).Ticks);

    // How long the last backup held its place, from snapshot to deletion: the best guess of when one frees up.
    private TimeSpan EstimateRetryAfter()
    {
        var last = TimeSpan.FromTicks(Interlocked.Read(ref _lastLifetimeTicks));
        var estimate = last > TimeSpan.Zero ? last : DefaultRetryAfter;
        return TimeSpan.FromSeconds(Math.Clamp(Math.Ceiling(estimate.TotalSeconds), 1, LongestRetryAfter.TotalSeconds));
    }

    private void EnsureFreeSpace(string folder, long snapshotBytes, long usedBytes)
    {
        var margin = _options.FreeSpaceMarginMB * Megabyte;
        var needed = snapshotBytes + margin;
        var free = FreeBytes(folder);
        if (free < needed)
        {
            throw new BackupFailedException(
                BackupFailure.InsufficientStorage,
                $"Not enough free space in the backup temp folder: the snapshot needs {ToMegabytes(needed)} MB " +
                $"({ToMegabytes(usedBytes)} MB of data{(snapshotBytes > usedBytes ? ", twice over to compress it ahead" : "")} plus a " +
                $"{_options.FreeSpaceMarginMB} MB margin) and {ToMegabytes(free)} MB is free. Free some space or point " +
                "CoreScope:Backup:TempDirectory at a larger disk.");
        }
    }

    private static long FreeBytes(string folder) => new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace;

    private static string ToMegabytes(long bytes) => (bytes / (double)Megabyte).ToString("0.0", CultureInfo.InvariantCulture);

    private const string CountRowsSql = """
        SELECT (SELECT COUNT(*) FROM transmissions) AS Transmissions,
               (SELECT COUNT(*) FROM observations) AS Observations;
        """;

    private async Task<(long Transmissions, long Observations)> CountRowsAsync(string file, CancellationToken cancellationToken)
    {
        await using var connection = await _connectionFactory.OpenFileAsync(file, readOnly: true, cancellationToken);
        return await connection.QuerySingleAsync<(long, long)>(
            new CommandDefinition(CountRowsSql, cancellationToken: cancellationToken));
    }

    private const string IntegrityCheckSql = "PRAGMA integrity_check;";

    /// <summary>Runs <c>PRAGMA integrity_check</c> on a snapshot file; throws when it reports anything but "ok".</summary>
    public async Task VerifyIntegrityAsync(string file, CancellationToken cancellationToken)
    {
        List<string> report;
        try
        {
            await using var connection = await _connectionFactory.OpenFileAsync(file, readOnly: true, cancellationToken);
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

    private const int CopyBufferBytes = 1024 * 1024;

    private async Task<string> CompressAsync(string databaseFile, CancellationToken cancellationToken)
    {
        var gzipFile = databaseFile + ".gz";
        await using (var source = new FileStream(databaseFile, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferBytes, FileOptions.SequentialScan | FileOptions.Asynchronous))
        await using (var target = new FileStream(gzipFile, FileMode.CreateNew, FileAccess.Write, FileShare.None, CopyBufferBytes, FileOptions.Asynchronous))
        await using (var gzip = new GZipStream(target, _options.CompressionLevel))
        {
            await source.CopyToAsync(gzip, CopyBufferBytes, cancellationToken);
        }

        File.Delete(databaseFile);
        return gzipFile;
    }

    private static async Task<byte[]> HashAsync(string file, CancellationToken cancellationToken)
    {
        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferBytes, FileOptions.SequentialScan | FileOptions.Asynchronous);
        return await SHA256.HashDataAsync(stream, cancellationToken);
    }

    internal static BackupFailedException Classify(Exception exception, string folder)
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
                "The backup temp folder's disk is full; the partial file was removed. " +
                "Free some space or point CoreScope:Backup:TempDirectory at a larger disk.",
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
