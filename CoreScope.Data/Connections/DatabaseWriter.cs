using System.Data.SQLite;
using System.Diagnostics;
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
    SchemaMigrator schemaMigrator,
    ILogger<DatabaseWriter> logger) : IAsyncDisposable
{
    // How often a queued write looks whether a hold has outlasted its wait; short next to any write's latency.
    private static readonly TimeSpan HoldPollInterval = TimeSpan.FromMilliseconds(100);

    private readonly SemaphoreSlim _turn = new(1, 1);
    private SQLiteConnection? _connection;
    private WriterHold? _hold;

    /// <summary>Creates the folder and file if needed, switches to WAL and brings the schema up to date.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken);
        try
        {
            if (_connection is not null)
            {
                return;
            }

            var folder = Path.GetDirectoryName(connectionFactory.DatabasePath);
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
            logger.LogInformation("Database {Path} is open for writing", connectionFactory.DatabasePath);
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> in its own transaction on the writer connection, after every write queued
    /// before it. The transaction commits when the work returns and rolls back when it throws.
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

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }

        _turn.Dispose();
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
