using System.Data.SQLite;
using System.Globalization;
using System.Security.Cryptography;
using CoreScope.Data.Schema;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>Real SQLite files for tests: a CoreScope database in WAL mode, filled directly, and ways to inspect one.</summary>
public static class TestDatabase
{
    public static SQLiteConnection Open(string path, bool readOnly = false)
    {
        var builder = new SQLiteConnectionStringBuilder { DataSource = path, ReadOnly = readOnly, FailIfMissing = readOnly, Pooling = false };
        var connection = new SQLiteConnection(builder.ConnectionString);
        connection.Open();
        connection.Execute("PRAGMA busy_timeout = 10000;");
        return connection;
    }

    /// <summary>Creates a database with the server's schema, in WAL mode, as the server would on first start.</summary>
    public static async Task CreateAsync(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var connection = Open(path);
        connection.Execute("PRAGMA journal_mode = WAL;");
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).ApplyAsync(connection, CancellationToken.None);
    }

    /// <summary>
    /// Inserts <paramref name="transmissions"/> transmissions, each with <paramref name="observationsEach"/>
    /// observations from distinct observers, plus some nodes; <paramref name="payloadBytes"/> pads the raw hex so a
    /// test can make the file as large as it needs.
    /// </summary>
    public static void Populate(string path, int transmissions, int observationsEach = 2, int payloadBytes = 32)
    {
        using var connection = Open(path);
        using var transaction = connection.BeginTransaction();
        for (var observer = 0; observer < Math.Max(observationsEach, 1); observer++)
        {
            connection.Execute(
                "INSERT OR IGNORE INTO observers (id, name, iata, last_seen, first_seen, packet_count) VALUES (@id, @name, 'SJC', @now, @now, 0)",
                new { id = $"OBSERVER{observer:D4}", name = $"Observer {observer}", now = DateTime.UtcNow.ToString("O") },
                transaction);
        }

        for (var node = 0; node < 10; node++)
        {
            connection.Execute(
                "INSERT OR IGNORE INTO nodes (public_key, name, role, last_seen, first_seen, advert_count) VALUES (@key, @name, 'repeater', @now, @now, 1)",
                new { key = Convert.ToHexString(RandomNumberGenerator.GetBytes(32)).ToLowerInvariant(), name = $"Node {node}", now = DateTime.UtcNow.ToString("O") },
                transaction);
        }

        for (var index = 0; index < transmissions; index++)
        {
            InsertTransmission(connection, transaction, observationsEach, payloadBytes);
        }

        transaction.Commit();
    }

    /// <summary>One transmission and its observations, in the caller's transaction.</summary>
    public static long InsertTransmission(SQLiteConnection connection, SQLiteTransaction transaction, int observations, int payloadBytes = 32)
    {
        var raw = Convert.ToHexString(RandomNumberGenerator.GetBytes(payloadBytes));
        var id = connection.ExecuteScalar<long>(
            """
            INSERT INTO transmissions (raw_hex, hash, first_seen, route_type, payload_type, payload_version, decoded_json)
            VALUES (@raw, @hash, @firstSeen, 1, 2, 0, '{}');
            SELECT last_insert_rowid();
            """,
            new { raw, hash = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant(), firstSeen = Iso(DateTime.UtcNow) },
            transaction);
        for (var observer = 0; observer < observations; observer++)
        {
            connection.Execute(
                "INSERT INTO observations (transmission_id, observer_idx, snr, rssi, path_json, timestamp) VALUES (@id, @observer, 5.5, -90, '[]', @ts)",
                new { id, observer = observer + 1, ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds() },
                transaction);
        }

        return id;
    }

    /// <summary>A time as CoreScope stores <c>first_seen</c> and <c>last_seen</c>: UTC, milliseconds, a Z.</summary>
    public static string Iso(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Every table, index and view by type and name, without SQLite's own.</summary>
    public static List<string> SchemaObjects(string path)
    {
        using var connection = Open(path, readOnly: true);
        return connection.Query<string>(
            "SELECT type || ' ' || name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name").ToList();
    }

    public static Dictionary<string, long> RowCounts(string path)
    {
        using var connection = Open(path, readOnly: true);
        var tables = connection.Query<string>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").ToList();
        return tables.ToDictionary(table => table, table => connection.ExecuteScalar<long>($"SELECT COUNT(*) FROM \"{table}\""));
    }

    public static string IntegrityCheck(string path)
    {
        using var connection = Open(path, readOnly: true);
        return string.Join("\n", connection.Query<string>("PRAGMA integrity_check"));
    }
}
