using System.Data.SQLite;
using CoreScope.Data.Options;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Connections;

/// <summary>
/// Hands out opened connections to the CoreScope database. Reads and snapshots get short-lived read-only
/// connections; the only read-write connection belongs to <see cref="DatabaseWriter"/>.
/// </summary>
public sealed class SqliteConnectionFactory(DatabaseLocation location, IOptions<DatabaseOptions> options)
{
    private readonly int _busyTimeoutMs = options.Value.BusyTimeoutMs;

    public string DatabasePath => location.FilePath;

    /// <summary>The version of the native SQLite engine this process loaded (e_sqlite3), such as "3.53.3".</summary>
    public static string EngineVersion => SQLiteConnection.SQLiteVersion;

    /// <summary>Opens a read-only connection: it can never change the database, whatever SQL it runs.</summary>
    public Task<SQLiteConnection> OpenReadOnlyAsync(CancellationToken cancellationToken) =>
        OpenAsync(location.FilePath, readOnly: true, cancellationToken);

    /// <summary>Opens a connection to another SQLite file, such as a finished snapshot.</summary>
    public Task<SQLiteConnection> OpenFileAsync(string path, bool readOnly, CancellationToken cancellationToken) =>
        OpenAsync(path, readOnly, cancellationToken);

    internal Task<SQLiteConnection> OpenReadWriteAsync(CancellationToken cancellationToken) =>
        OpenAsync(location.FilePath, readOnly: false, cancellationToken);

    private async Task<SQLiteConnection> OpenAsync(string path, bool readOnly, CancellationToken cancellationToken)
    {
        var builder = new SQLiteConnectionStringBuilder
        {
            DataSource = path,
            ReadOnly = readOnly,
            FailIfMissing = readOnly,
            Pooling = false,

            // Said here, not left to the native build: e_sqlite3 (System.Data.SQLite 2.0) is compiled with
            // SQLITE_DEFAULT_FOREIGN_KEYS, so a connection would enforce them, where 1.0's engine did not. Off is what
            // this schema and its migrations were written and tested against (docs/backup.md, "Decisions").
            ForeignKeys = false,
        };
        var connection = new SQLiteConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);

            // e_sqlite3 is built with SQLITE_DQS=0: a double-quoted string literal is an error, where 1.0's engine read
            // it as a string. Databases written by other tools may hold one in a partial index or a view; VACUUM INTO
            // re-runs each CREATE INDEX, so a backup of such a file failed with 500 and the view could not be read
            // (SqliteEngineTests). Turned back on so every file the old engine read is still read and backed up.
            connection.SetConfigurationOption(SQLiteConfigDbOpsEnum.SQLITE_DBCONFIG_DQS_DDL, true);
            connection.SetConfigurationOption(SQLiteConfigDbOpsEnum.SQLITE_DBCONFIG_DQS_DML, true);

            using var command = connection.CreateCommand();
            command.CommandText = $"PRAGMA busy_timeout = {_busyTimeoutMs};";
            await command.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
