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
        };
        var connection = new SQLiteConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
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
