using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Dapper;

namespace CoreScope.Bench;

public sealed record WriterPhase(string Writer, bool WithBackups, int Commits, int Errors, double CommitsPerSecond, double P50Ms, double P99Ms, double MaxMs, int Backups, double WalStartMB, double WalMaxMB);

/// <summary>
/// A writer committing at a steady rate, through POST /api/packets and straight into SQLite, first alone and then
/// while backups run back to back: its rate, its commit latency, its errors and the WAL's growth.
/// </summary>
public static class WritersBench
{
    public static async Task<IReadOnlyList<WriterPhase>> RunAsync(string database, string work, int seconds, int rate)
    {
        database = Path.GetFullPath(database);
        var phases = new List<WriterPhase>();
        await using var server = await ServerProcess.StartAsync(database, Path.Combine(work, "server-tmp"));
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(30) };
        client.DefaultRequestHeaders.Add("X-API-Key", ServerProcess.ApiKey);

        foreach (var writer in new[] { "POST /api/packets", "direct SQLite" })
        {
            foreach (var withBackups in new[] { false, true })
            {
                phases.Add(await RunPhaseAsync(writer, withBackups, database, work, client, seconds, rate));
            }
        }

        return phases;
    }

    private static async Task<WriterPhase> RunPhaseAsync(
        string writer, bool withBackups, string database, string work, HttpClient client, int seconds, int rate)
    {
        var wal = database + "-wal";
        double WalMB() => File.Exists(wal) ? new FileInfo(wal).Length / 1048576.0 : 0;
        var walStart = WalMB();
        var walMax = walStart;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var backups = 0;
        var backupLoop = withBackups
            ? Task.Run(async () =>
            {
                var target = Path.Combine(work, "writers-backup.db");
                while (!stop.IsCancellationRequested)
                {
                    await BackupBench.DownloadAsync(client, "/api/backup", target);
                    File.Delete(target);
                    backups++;
                }
            })
            : Task.CompletedTask;

        var latencies = new ConcurrentBag<double>();
        var errors = 0;
        using var direct = writer == "direct SQLite" ? OpenDirectWriter(database) : null;
        var interval = TimeSpan.FromSeconds(1.0 / rate);
        var started = Stopwatch.StartNew();
        var next = TimeSpan.Zero;
        while (!stop.IsCancellationRequested)
        {
            var wait = next - started.Elapsed;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }

            next += interval;
            var commit = Stopwatch.StartNew();
            try
            {
                var hex = "0A00" + Convert.ToHexString(RandomNumberGenerator.GetBytes(28));
                if (direct is null)
                {
                    using var response = await client.PostAsJsonAsync("/api/packets", new { hex, observer = "BENCH-WRITER", snr = 1.0, rssi = -90.0 });
                    response.EnsureSuccessStatusCode();
                }
                else
                {
                    using var transaction = direct.BeginTransaction();
                    var id = direct.ExecuteScalar<long>(
                        "INSERT INTO transmissions (raw_hex, hash, first_seen, route_type, payload_type, payload_version, decoded_json) VALUES (@hex, @hash, @now, 2, 2, 0, '{}'); SELECT last_insert_rowid();",
                        new { hex, hash = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), now = CoreScope.Data.IsoTime.Format(DateTimeOffset.UtcNow) },
                        transaction);
                    direct.Execute(
                        "INSERT INTO observations (transmission_id, observer_idx, snr, rssi, path_json, timestamp) VALUES (@id, 1, 1.0, -90, '[]', @ts)",
                        new { id, ts = DateTimeOffset.UtcNow.ToUnixTimeSeconds() }, transaction);
                    transaction.Commit();
                }

                latencies.Add(commit.Elapsed.TotalMilliseconds);
            }
            catch (Exception exception) when (exception is HttpRequestException or System.Data.SQLite.SQLiteException)
            {
                Interlocked.Increment(ref errors);
            }

            walMax = Math.Max(walMax, WalMB());
        }

        var elapsed = started.Elapsed.TotalSeconds;
        await backupLoop;
        var timing = new Timing(writer, latencies.Select(ms => ms / 1000).ToList(), 0);
        return new WriterPhase(
            writer, withBackups, latencies.Count, errors, Math.Round(latencies.Count / elapsed, 1),
            Math.Round(timing.Percentile(0.5) * 1000, 2), Math.Round(timing.Percentile(0.99) * 1000, 2), Math.Round(timing.Max * 1000, 2),
            backups, Math.Round(walStart, 1), Math.Round(walMax, 1));
    }

    private static System.Data.SQLite.SQLiteConnection OpenDirectWriter(string database)
    {
        var connection = new System.Data.SQLite.SQLiteConnection($"Data Source={database};Pooling=False");
        connection.Open();
        connection.Execute("PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL;");
        return connection;
    }
}
