using System.Data.SQLite;
using CoreScope.Data.Connections;
using Dapper;

namespace CoreScope.Data.Store;

/// <summary>
/// Tells whether anything was committed to the database since the last stored backup, by anyone: this server's
/// writer, a restore, or another process such as the original's ingestor. It keeps one read-only connection open
/// for the life of the server and reads <c>PRAGMA data_version</c> on it, which SQLite changes whenever another
/// connection, in any process, commits to the file (https://sqlite.org/pragma.html#pragma_data_version). The
/// connection never writes and holds no transaction between reads, so it never holds back a checkpoint. A read is
/// a few microseconds, against hashing or counting a 1 GB database. After a restart nothing is known, so the first
/// scheduled run always stores a backup: a spare backup is cheap, a missed one is not.
/// </summary>
public sealed class DatabaseChanges(SqliteConnectionFactory connectionFactory) : IAsyncDisposable
{
    private const string DataVersionSql = "PRAGMA data_version;";

    // data_version is a positive counter; this says no backup was stored since the server started.
    private const long Unknown = long.MinValue;

    private readonly SemaphoreSlim _turn = new(1, 1);
    private SQLiteConnection? _connection;
    private long _versionAtLastBackup = Unknown;

    /// <summary>The current data version as this connection sees it.</summary>
    public async Task<long> ReadVersionAsync(CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken);
        try
        {
            _connection ??= await connectionFactory.OpenReadOnlyAsync(cancellationToken);
            return await _connection.ExecuteScalarAsync<long>(new CommandDefinition(DataVersionSql, cancellationToken: cancellationToken));
        }
        catch (SQLiteException)
        {
            // A connection that failed once is not trusted again: the next read opens a new one. Versions are only
            // comparable on one connection, so what was known is forgotten and the next run stores rather than skips.
            if (_connection is not null)
            {
                await _connection.DisposeAsync();
                _connection = null;
            }

            Interlocked.Exchange(ref _versionAtLastBackup, Unknown);
            throw;
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// Records that a backup holding everything up to <paramref name="version"/> was stored. The version is read
    /// before the snapshot starts, so a commit that races the snapshot makes the next run store again rather than skip.
    /// </summary>
    public void BackupStored(long version) => Interlocked.Exchange(ref _versionAtLastBackup, version);

    /// <summary>False only when a backup was stored since this server started and nothing was committed after it.</summary>
    public async Task<bool> ChangedSinceLastBackupAsync(CancellationToken cancellationToken)
    {
        var stored = Interlocked.Read(ref _versionAtLastBackup);
        return stored == Unknown || await ReadVersionAsync(cancellationToken) != stored;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _turn.Dispose();
    }
}
