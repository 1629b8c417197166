using System.Diagnostics;
using System.Text.Json;

namespace CoreScope.Bench;

public sealed record DrillResult(
    string IntegrityCheck, double DatabaseMB, double BackupMB, double BackupSeconds, string Outcome, double DrillSeconds,
    long DrillDurationMs, double PeakTempMB, double PeakTempOverBackup, double RssGrowthMB, double AnonGrowthMB, string LoadBefore, string LoadAfter);

/// <summary>
/// What a restore drill of a stored backup costs: the real server stores one backup of the database, then drills it
/// (POST /api/backups/{id}/drill) while the bytes in its temp folder (the drill's staging and scratch files) are summed
/// every 50 ms. Once with Restore:IntegrityCheck=Full (the default) and once with Quick.
/// </summary>
public static class DrillBench
{
    public static async Task<IReadOnlyList<DrillResult>> RunAsync(string database, string work)
    {
        database = Path.GetFullPath(database);
        var results = new List<DrillResult>();
        foreach (var check in new[] { "Full", "Quick" })
        {
            var store = Path.Combine(work, "drill-store");
            var temp = Path.Combine(work, "drill-tmp");
            Directory.CreateDirectory(store);
            try
            {
                await using var server = await ServerProcess.StartAsync(database, temp, new Dictionary<string, string>
                {
                    ["CoreScope__Backup__Store__Directory"] = store,
                    ["CoreScope__Restore__IntegrityCheck"] = check,
                });
                using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromHours(1) };
                client.DefaultRequestHeaders.Add("X-API-Key", ServerProcess.ApiKey);

                var backupWatch = Stopwatch.StartNew();
                using var stored = JsonDocument.Parse(await PostAsync(client, "/api/backups"));
                var backupSeconds = backupWatch.Elapsed.TotalSeconds;
                var id = stored.RootElement.GetProperty("id").GetString()!;
                var backupBytes = stored.RootElement.GetProperty("sizeBytes").GetInt64();

                var loadBefore = Load();
                var rssBefore = server.Memory().Current;
                var anonBefore = AnonymousBytes(server.ProcessId);
                long peakTemp = 0;
                var peakRss = rssBefore;
                var peakAnon = anonBefore;
                using var sampling = new CancellationTokenSource();
                var sampler = Task.Run(async () =>
                {
                    while (!sampling.IsCancellationRequested)
                    {
                        peakTemp = Math.Max(peakTemp, BytesUnder(temp));
                        peakRss = Math.Max(peakRss, server.Memory().Current);
                        peakAnon = Math.Max(peakAnon, AnonymousBytes(server.ProcessId));
                        await Task.Delay(50);
                    }
                });

                var drillWatch = Stopwatch.StartNew();
                using var drilled = JsonDocument.Parse(await PostAsync(client, $"/api/backups/{id}/drill"));
                var drillSeconds = drillWatch.Elapsed.TotalSeconds;
                await sampling.CancelAsync();
                await sampler;
                var drill = drilled.RootElement.GetProperty("drill");
                results.Add(new DrillResult(
                    check, Math.Round(new FileInfo(database).Length / 1048576.0, 1), Math.Round(backupBytes / 1048576.0, 1), Math.Round(backupSeconds, 2),
                    drill.GetProperty("outcome").GetString()!, Math.Round(drillSeconds, 2), drill.GetProperty("durationMs").GetInt64(),
                    Math.Round(peakTemp / 1048576.0, 1), Math.Round(peakTemp / (double)backupBytes, 2), Math.Round((peakRss - rssBefore) / 1048576.0, 1),
                    Math.Round((peakAnon - anonBefore) / 1048576.0, 1), loadBefore, Load()));
            }
            finally
            {
                Directory.Delete(store, recursive: true);
            }
        }

        return results;
    }

    private static async Task<string> PostAsync(HttpClient client, string path)
    {
        using var response = await client.PostAsync(path, null);
        var body = await response.Content.ReadAsStringAsync();
        return response.IsSuccessStatusCode ? body : throw new InvalidOperationException($"POST {path}: {(int)response.StatusCode} {body}");
    }

    // Every file under the folder, as large as it is this moment (the drill's staged copy, its scratch file and their journals).
    private static long BytesUnder(string folder)
    {
        long total = 0;
        try
        {
            foreach (var file in new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories))
            {
                try
                {
                    total += file.Length;
                }
                catch (FileNotFoundException)
                {
                }
            }
        }
        catch (DirectoryNotFoundException)
        {
        }

        return total;
    }

    // RssAnon: the process's own memory, without the file pages its memory maps bring in (the checks read the copies
    // through a memory map, and those pages count in VmRSS while they are the page cache's to drop).
    private static long AnonymousBytes(int processId)
    {
        var line = File.ReadLines($"/proc/{processId}/status").FirstOrDefault(line => line.StartsWith("RssAnon:", StringComparison.Ordinal));
        return line is null ? 0 : long.Parse(line.Split(':', 2)[1].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    // The 1-, 5- and 15-minute load averages: the machine is shared, so the numbers say how busy it was.
    private static string Load() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

}
