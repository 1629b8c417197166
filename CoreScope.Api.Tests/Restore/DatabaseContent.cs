using System.Globalization;

namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// A database's whole content as text, table by table and row by row in rowid order, so two files (or one file
/// before and after) compare row for row with one assertion.
/// </summary>
public static class DatabaseContent
{
    public static SortedDictionary<string, List<string>> Read(string path)
    {
        using var connection = TestDatabase.Open(path, readOnly: true);
        var content = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        var tables = connection.Query<(string Name, string Sql)>(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").ToList();
        foreach (var (name, sql) in tables)
        {
            var order = sql.Contains("WITHOUT ROWID", StringComparison.OrdinalIgnoreCase) ? "1" : "rowid";
            var rows = new List<string>();
            using var reader = connection.ExecuteReader($"SELECT * FROM \"{name}\" ORDER BY {order}");
            while (reader.Read())
            {
                var values = new string[reader.FieldCount];
                for (var index = 0; index < reader.FieldCount; index++)
                {
                    values[index] = reader.IsDBNull(index) ? "NULL" : Convert.ToString(reader.GetValue(index), CultureInfo.InvariantCulture) ?? "";
                }

                rows.Add(string.Join('|', values));
            }

            content[name] = rows;
        }

        return content;
    }

    /// <summary>Bytes 18 and 19 of the file header: 2 and 2 for a database in WAL mode.</summary>
    public static (byte Write, byte Read) HeaderVersionBytes(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var header = new byte[20];
        stream.ReadExactly(header);
        return (header[18], header[19]);
    }

    public static long Count(string path, string sql)
    {
        using var connection = TestDatabase.Open(path, readOnly: true);
        return connection.ExecuteScalar<long>(sql);
    }
}
