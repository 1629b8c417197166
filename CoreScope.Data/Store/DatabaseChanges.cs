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
/// scheduled run always stores a backup: a spare backup is cheap, a missed one is not. What it remembers is which
/// stored backup holds the state: a caller skips only while that backup is still stored, since one deleted since
/// (by hand, by retention) holds nothing.
/// </summary>
public sealed class DatabaseChanges(SqliteConnectionFactory connectionFactory) : IAsyncDisposable
{
    private const string DataVersionSql = "PRAGMA data_version;";

    private readonly SemaphoreSlim _turn = new(1, 1);
    private SQLiteConnection? _connection;

    // Null: no backup was stored since the server started, or what was known had to be forgotten.
    private LastBackup? _lastBackup;

    private sealed record LastBackup(long Version, string BackupId);

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

            Volatile.Write(ref _lastBackup, null);
            throw;
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// Records that stored backup <paramref name="backupId"/> holds everything up to <paramref name="version"/>. The
    /// version is read before the snapshot starts, so a commit that races the snapshot makes the next run store again
    /// rather than skip.
    /// </summary>
    public void BackupStored(long version, string backupId) => Volatile.Write(ref _lastBackup, new LastBackup(version, backupId));

    /// <summary>
    /// The id of the backup stored since this server started after which nothing was committed; null when something
    /// was, or when none is known. The caller still checks that the backup is in the store before it skips on it.
    /// </summary>
    public async Task<string?> UnchangedSinceBackupAsync(CancellationToken cancellationToken)
    {
        var last = Volatile.Read(ref _lastBackup);
        return last is not null && await ReadVersionAsync(cancellationToken) == last.Version ? last.BackupId : null;
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
