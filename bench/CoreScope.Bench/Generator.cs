using System.Data.SQLite;
using System.Diagnostics;
using CoreScope.Data.Schema;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace CoreScope.Bench;

/// <summary>
/// Writes a CoreScope-shaped database of about the asked size: hundreds of nodes, tens of observers, real packets
/// with one to five observations each over thirty days; fast (no journal, big transactions), then in WAL mode.
/// </summary>
public static class Generator
{
    private const int Nodes = 600;
    private const int Observers = 40;
    private const int TransmissionsPerTransaction = 5_000;

    public static async Task<GenerateResult> GenerateAsync(string path, int megabytes, int seed = 2026)
    {
        if (File.Exists(path))
        {
            throw new InvalidOperationException($"{path} exists already; the generator never overwrites a database.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var random = new Random(seed);
        var targetBytes = (long)megabytes * 1024 * 1024;
        var stopwatch = Stopwatch.StartNew();
        long transmissions = 0;
        long observations = 0;

        await using var connection = new SQLiteConnection($"Data Source={path};Pooling=False");
        await connection.OpenAsync();
        await connection.ExecuteAsync("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -200000;");
        await new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).ApplyAsync(connection, CancellationToken.None);

        var now = DateTimeOffset.UtcNow;
        var (keys, names) = await InsertNodesAndObserversAsync(connection, random, now);
        var packets = new MeshPackets(random, keys, names);
        var advertCounts = new Dictionary<string, int>(StringComparer.Ordinal);

        await AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask($"Generating {megabytes} MB", maxValue: megabytes);
                long size;
                do
                {
                    (var batchTransmissions, var batchObservations) = InsertBatch(connection, packets, random, now, advertCounts);
                    transmissions += batchTransmissions;
                    observations += batchObservations;
                    size = await connection.ExecuteScalarAsync<long>("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
                    var rowsPerSecond = (transmissions + observations) / Math.Max(stopwatch.Elapsed.TotalSeconds, 0.001);
                    task.Description = $"Generating {megabytes} MB: {transmissions:N0} transmissions, {rowsPerSecond:N0} rows/s";
                    task.Value = Math.Min(megabytes, size / (1024.0 * 1024));
                }
                while (size < targetBytes);
                task.StopTask();
            });

        await using (var transaction = connection.BeginTransaction())
        {
            foreach (var (key, count) in advertCounts)
            {
                await connection.ExecuteAsync("UPDATE nodes SET advert_count = @count WHERE public_key = @key", new { key, count }, transaction);
            }

            await transaction.CommitAsync();
        }

        await connection.ExecuteScalarAsync<string>("PRAGMA journal_mode = WAL;");
        return new GenerateResult(path, new FileInfo(path).Length, transmissions, observations, stopwatch.Elapsed.TotalSeconds);
    }

    private static async Task<(List<byte[]> Keys, List<string> Names)> InsertNodesAndObserversAsync(
        SQLiteConnection connection, Random random, DateTimeOffset now)
    {
        var keys = new List<byte[]>();
        var names = new List<string>();
        string[] roles = ["companion", "repeater", "room", "sensor"];
        await using var transaction = connection.BeginTransaction();
        for (var node = 0; node < Nodes; node++)
        {
            var key = new byte[32];
            random.NextBytes(key);
            keys.Add(key);
            names.Add($"Node {node:D3} {(node % 4 == 1 ? "Repeater" : "Mesh")}");
            await connection.ExecuteAsync(
                "INSERT INTO nodes (public_key, name, role, lat, lon, last_seen, first_seen, advert_count) VALUES (@key, @name, @role, @lat, @lon, @seen, @first, 0)",
                new
                {
                    key = Convert.ToHexStringLower(key),
                    name = names[^1],
                    role = roles[node % 4],
                    lat = 37 + random.NextDouble(),
                    lon = -122.5 + random.NextDouble(),
                    seen = Iso(now.AddMinutes(-random.Next(60 * 24 * 30))),
                    first = Iso(now.AddDays(-30)),
                },
                transaction);
        }

        for (var observer = 0; observer < Observers; observer++)
        {
            await connection.ExecuteAsync(
                "INSERT INTO observers (id, name, iata, last_seen, first_seen, packet_count, inactive) VALUES (@id, @name, @iata, @seen, @first, 0, 0)",
                new { id = $"OBSERVER{observer:D3}", name = $"Observer {observer}", iata = observer % 2 == 0 ? "SJC" : "OAK", seen = Iso(now), first = Iso(now.AddDays(-30)) },
                transaction);
        }

        await transaction.CommitAsync();
        return (keys, names);
    }

    private static (long Transmissions, long Observations) InsertBatch(
        SQLiteConnection connection, MeshPackets packets, Random random, DateTimeOffset now, Dictionary<string, int> advertCounts)
    {
        using var transaction = connection.BeginTransaction();
        using var insertTransmission = connection.CreateCommand();
        insertTransmission.CommandText = """
            INSERT OR IGNORE INTO transmissions (raw_hex, hash, first_seen, route_type, payload_type, payload_version, decoded_json, created_at)
            VALUES (@raw, @hash, @firstSeen, @route, @type, 0, @json, @firstSeen);
            """;
        var raw = insertTransmission.Parameters.Add("@raw", System.Data.DbType.String);
        var hash = insertTransmission.Parameters.Add("@hash", System.Data.DbType.String);
        var firstSeen = insertTransmission.Parameters.Add("@firstSeen", System.Data.DbType.String);
        var route = insertTransmission.Parameters.Add("@route", System.Data.DbType.Int32);
        var type = insertTransmission.Parameters.Add("@type", System.Data.DbType.Int32);
        var json = insertTransmission.Parameters.Add("@json", System.Data.DbType.String);

        using var insertObservation = connection.CreateCommand();
        insertObservation.CommandText = """
            INSERT INTO observations (transmission_id, observer_idx, snr, rssi, path_json, timestamp)
            VALUES (@transmission, @observer, @snr, @rssi, @path, @timestamp);
            """;
        var transmission = insertObservation.Parameters.Add("@transmission", System.Data.DbType.Int64);
        var observer = insertObservation.Parameters.Add("@observer", System.Data.DbType.Int64);
        var snr = insertObservation.Parameters.Add("@snr", System.Data.DbType.Double);
        var rssi = insertObservation.Parameters.Add("@rssi", System.Data.DbType.Double);
        var path = insertObservation.Parameters.Add("@path", System.Data.DbType.String);
        var timestamp = insertObservation.Parameters.Add("@timestamp", System.Data.DbType.Int64);

        long transmissions = 0;
        long observations = 0;
        for (var index = 0; index < TransmissionsPerTransaction; index++)
        {
            var packet = packets.Next();
            var heardAt = now.AddSeconds(-random.Next(30 * 24 * 3600));
            raw.Value = packet.RawHex;
            hash.Value = packet.Hash;
            firstSeen.Value = Iso(heardAt);
            route.Value = packet.RouteType;
            type.Value = packet.PayloadType;
            json.Value = packet.DecodedJson;
            if (insertTransmission.ExecuteNonQuery() == 0)
            {
                continue;
            }

            transmissions++;
            if (packet.AdvertKey is { } advertKey)
            {
                advertCounts[advertKey] = advertCounts.GetValueOrDefault(advertKey) + 1;
            }

            transmission.Value = connection.LastInsertRowId;
            var heardBy = random.Next(1, 6);
            var first = random.Next(Observers);
            for (var heard = 0; heard < heardBy; heard++)
            {
                observer.Value = 1 + (first + heard) % Observers;
                snr.Value = Math.Round(random.NextDouble() * 20 - 10, 2);
                rssi.Value = -random.Next(60, 125);
                path.Value = packet.PathJson;
                timestamp.Value = heardAt.ToUnixTimeSeconds() + heard;
                insertObservation.ExecuteNonQuery();
                observations++;
            }
        }

        transaction.Commit();
        return (transmissions, observations);
    }

    private static string Iso(DateTimeOffset time) => CoreScope.Data.IsoTime.Format(time);
}

public sealed record GenerateResult(string Path, long Bytes, long Transmissions, long Observations, double Seconds);
