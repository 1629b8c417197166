using System.Data.SQLite;
using System.Diagnostics;
using System.Globalization;
using CoreScope.Data.Schema;
using Microsoft.Extensions.Logging;

namespace CoreScope.Data.Connections;

/// <summary>
/// The one read-write connection of the process. It applies the schema at start, then runs every write, one
/// transaction at a time, so concurrent requests queue here instead of failing with "database is locked".
/// Another process (an ingestor) may still write; the busy timeout lets the two take turns. A restore holds the
/// writer's turn (<see cref="HoldAsync"/>) while it replaces the content; writes queued behind it wait a bounded time
/// and then fail with <see cref="DatabaseBusyException"/> instead of hanging a request for the whole restore.
/// </summary>
public sealed class DatabaseWriter(
    SqliteConnectionFactory connectionFactory,
    DatabaseLocation location,
    SchemaMigrator schemaMigrator,
    TimeProvider timeProvider,
    ILogger<DatabaseWriter> logger) : IAsyncDisposable
{
    // How often a queued write looks whether a hold has outlasted its wait; short next to any write's latency.
    private static readonly TimeSpan HoldPollInterval = TimeSpan.FromMilliseconds(100);

    // SQLite's own files beside a database: one of them without the database means the database was there.
    private static readonly string[] CompanionSuffixes = ["-wal", "-shm", "-journal"];

    private readonly SemaphoreSlim _turn = new(1, 1);
    private SQLiteConnection? _connection;
    private WriterHold? _hold;
    private FileIdentity? _openedFile;
    private int _reportedLostFile;

    /// <summary>
    /// Creates the folder and file if needed, switches to WAL and brings the schema up to date. Throws
    /// <see cref="StartupCheckFailedException"/> when the database is missing but had existed (its marker file or
    /// its -wal/-shm file is still there, or what the caller found: <paramref name="signsItExisted"/>): an empty
    /// database in its place would hide the loss.
    /// </summary>
    public async Task InitializeAsync(IReadOnlyList<string> signsItExisted, CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken);
        try
        {
            if (_connection is not null)
            {
                return;
            }

            if (!File.Exists(location.FilePath))
            {
                RefuseIfItExistedBefore(signsItExisted);
            }

            var folder = Path.GetDirectoryName(location.FilePath);
            if (!string.IsNullOrEmpty(folder))
            {
                Directory.CreateDirectory(folder);
            }

            var connection = await connectionFactory.OpenReadWriteAsync(cancellationToken);
            try
            {
                // WAL lets snapshots and reads go on while this connection commits.
                using (var command = connection.CreateCommand())
                {
                    command.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;";
                    await command.ExecuteNonQueryAsync(cancellationToken);
                }

                await schemaMigrator.ApplyAsync(connection, cancellationToken);
            }
            catch
            {
                await connection.DisposeAsync();
                throw;
            }

            _connection = connection;
            _openedFile = FileIdentity.Of(location.FilePath);
            WriteMarker();
            logger.LogInformation("Database {Path} is open for writing", location.FilePath);
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in its own transaction on the writer connection, after every write queued
    /// before it. The transaction commits when the work returns and rolls back when it throws, or when the file at
    /// the database's path is no longer the one this connection has open (<see cref="DatabaseUnavailableException"/>).
    /// </summary>
    public async Task<T> WriteAsync<T>(
        Func<SQLiteConnection, SQLiteTransaction, CancellationToken, Task<T>> work,
        CancellationToken cancellationToken)
    {
        await WaitForTurnAsync(cancellationToken);
        try
        {
            var connection = _connection
                ?? throw new InvalidOperationException("The database writer is used before InitializeAsync.");

            // BEGIN IMMEDIATE: take the write lock up front, so another process's writer makes us wait
            // (busy timeout) instead of failing halfway through the transaction.
            using var transaction = connection.BeginTransaction(System.Data.IsolationLevel.Serializable);
            var result = await work(connection, transaction, cancellationToken);

            // Checked last, just before the commit: a write committed to a deleted file answers 200 and is gone at
            // the next start, so it must roll back and fail instead.
            if (LostFileProblem() is { } problem)
            {
                throw new DatabaseUnavailableException(problem);
            }

            transaction.Commit();
            return result;
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// Takes the writer's turn until the returned hold is disposed, so no write of this process runs meanwhile.
    /// Writes that arrive while it is held wait at most <paramref name="writesWaitAtMost"/>, then fail with
    /// <see cref="DatabaseBusyException"/> carrying <paramref name="retryAfter"/>.
    /// </summary>
    public async Task<IAsyncDisposable> HoldAsync(TimeSpan writesWaitAtMost, TimeSpan retryAfter, CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken);
        var hold = new WriterHold(this, writesWaitAtMost, retryAfter);
        Volatile.Write(ref _hold, hold);
        return hold;
    }

    // Waits as long as ordinary writes need, but no longer than a hold allows once one is taken.
    private async Task WaitForTurnAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        while (!await _turn.WaitAsync(HoldPollInterval, cancellationToken))
        {
            if (Volatile.Read(ref _hold) is { } hold && Stopwatch.GetElapsedTime(started) >= hold.WritesWaitAtMost)
            {
                throw new DatabaseBusyException(hold.RetryAfter);
            }
        }
    }

    /// <summary>
    /// Null while the file at the database's path is the one the writer has open; otherwise why writes are refused.
    /// The text names no path (it goes into responses); the log gets the path once.
    /// </summary>
    public string? LostFileProblem()
    {
        if (_openedFile is not { } opened)
        {
            return null;
        }

        var now = FileIdentity.Of(location.FilePath);
        if (now == opened)
        {
            return null;
        }

        if (Interlocked.Exchange(ref _reportedLostFile, 1) == 0)
        {
            logger.LogCritical(
                "The database file {Path} was {What} while the server had it open: writes are refused with 503 until it is restored and the server restarted",
                location.FilePath, now is null ? "deleted" : "replaced by another file");
        }

        return now is null
            ? "The database file was deleted while the server had it open, so writes are refused rather than stored in a file " +
              "that is gone at the next start. Restore the database from a backup and restart the server."
            : "The database file was replaced by another file while the server had it open, so writes are refused rather than " +
              "stored in the old one. Restart the server to open the file now in its place.";
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }

        _turn.Dispose();
    }

    private void RefuseIfItExistedBefore(IReadOnlyList<string> signsItExisted)
    {
        var evidence = new List<string>(signsItExisted);
        if (File.Exists(location.MarkerPath))
        {
            evidence.Add($"{location.MarkerPath} says it was there (first opened {File.ReadLines(location.MarkerPath).FirstOrDefault()?.Trim()})");
        }

        var companions = CompanionSuffixes.Select(suffix => location.FilePath + suffix).Where(File.Exists).ToList();
        if (companions.Count > 0)
        {
            evidence.Add("its " + string.Join(" and ", companions.Select(Path.GetFileName)) + " still exist");
        }

        if (evidence.Count > 0)
        {
            throw new StartupCheckFailedException(
                $"The database {location.FilePath} is missing, but {string.Join(", and ", evidence)}: it existed, so the server will " +
                "not create an empty one in its place. Restore it from a backup (docs/operators.md, Restore), or delete " +
                $"{Path.GetFileName(location.MarkerPath)} and the leftover -wal/-shm files (and move the stored backups and keys aside) " +
                "to start a new, empty database on purpose.");
        }
    }

    private void WriteMarker()
    {
        if (File.Exists(location.MarkerPath))
        {
            return;
        }

        try
        {
            File.WriteAllText(location.MarkerPath,
                timeProvider.GetUtcNow().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) + "\n" +
                $"CoreScope.Analyzer keeps its database {Path.GetFileName(location.FilePath)} in this folder. If that file is missing " +
                "while this one is here, the server refuses to start rather than create an empty database in its place: restore " +
                "the database from a backup, or delete this file to start a new, empty one.\n");
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // Without the marker a later deletion is still found by SQLite's own -wal/-shm files; say so and go on.
            logger.LogWarning(exception, "Could not write {Marker}; a deleted database is then noticed at start only by its leftover -wal/-shm files", location.MarkerPath);
        }
    }

    private sealed class WriterHold(DatabaseWriter owner, TimeSpan writesWaitAtMost, TimeSpan retryAfter) : IAsyncDisposable
    {
        private int _released;

        public TimeSpan WritesWaitAtMost { get; } = writesWaitAtMost;

        public TimeSpan RetryAfter { get; } = retryAfter;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.CompareExchange(ref owner._hold, null, this);
                owner._turn.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
