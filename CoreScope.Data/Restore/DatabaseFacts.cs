using System.Data.SQLite;
using Dapper;

namespace CoreScope.Data.Restore;

/// <summary>What a restore, a safety copy and their answers say about a database file: its tables' rows and schema steps.</summary>
internal static class DatabaseFacts
{
    /// <summary>The tables every CoreScope database has, the original's included; a file without them is not one.</summary>
    public static readonly string[] RequiredTables = ["transmissions", "observations", "nodes", "observers"];

    private const string TablesSql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name;";

    private const string MigrationsSql = "SELECT name FROM _migrations ORDER BY name;";

    public static async Task<List<string>> TablesAsync(SQLiteConnection connection, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<string>(new CommandDefinition(TablesSql, cancellationToken: cancellationToken))).ToList();

    /// <summary>Every table's row count, by name.</summary>
    public static async Task<SortedDictionary<string, long>> CountRowsAsync(SQLiteConnection connection, CancellationToken cancellationToken)
    {
        var rows = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var table in await TablesAsync(connection, cancellationToken))
        {
            // The names come from sqlite_master of a file we were sent: quoted, with quotes doubled.
            var sql = $"SELECT COUNT(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\";";
            rows[table] = await connection.ExecuteScalarAsync<long>(new CommandDefinition(sql, cancellationToken: cancellationToken));
        }

        return rows;
    }

    /// <summary>The schema steps recorded in <c>_migrations</c>; none when the table is missing (the original's database).</summary>
    public static async Task<List<string>> SchemaStepsAsync(SQLiteConnection connection, CancellationToken cancellationToken)
    {
        var tables = await TablesAsync(connection, cancellationToken);
        return tables.Contains("_migrations", StringComparer.Ordinal)
            ? (await connection.QueryAsync<string>(new CommandDefinition(MigrationsSql, cancellationToken: cancellationToken))).ToList()
            : [];
    }
}
