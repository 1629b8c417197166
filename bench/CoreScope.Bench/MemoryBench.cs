using System.Diagnostics;

namespace CoreScope.Bench;

public sealed record MemoryResult(string Method, double DatabaseMB, double RssBeforeMB, double RssPeakMB, double GrowthMB, double Seconds);

/// <summary>The server's resident memory before and at its peak while a client downloads a backup.</summary>
public static class MemoryBench
{
    public static async Task<IReadOnlyList<MemoryResult>> RunAsync(string database, string work)
    {
        database = Path.GetFullPath(database);
        var results = new List<MemoryResult>();
        foreach (var query in new[] { "?method=vacuum", "?method=pages", "?method=vacuum&compress=gzip" })
        {
            // A fresh server each time, so one download's peak does not hide in another's.
            await using var server = await ServerProcess.StartAsync(database, Path.Combine(work, "server-tmp"));
            using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromHours(1) };
            client.DefaultRequestHeaders.Add("X-API-Key", ServerProcess.ApiKey);
            await client.GetStringAsync("/api/stats");
            var before = server.Memory().Current;
            var peak = before;
            using var sampling = new CancellationTokenSource();
            var sampler = Task.Run(async () =>
            {
                while (!sampling.IsCancellationRequested)
                {
                    peak = Math.Max(peak, server.Memory().Current);
                    await Task.Delay(20);
                }
            });

            var stopwatch = Stopwatch.StartNew();
            var target = Path.Combine(work, "memory-backup.db");
            await BackupBench.DownloadAsync(client, "/api/backup" + query, target);
            stopwatch.Stop();
            await sampling.CancelAsync();
            await sampler;
            File.Delete(target);
            results.Add(new MemoryResult(
                query.TrimStart('?'), Math.Round(new FileInfo(database).Length / 1048576.0, 1),
                Math.Round(before / 1048576.0, 1), Math.Round(peak / 1048576.0, 1), Math.Round((peak - before) / 1048576.0, 1),
                Math.Round(stopwatch.Elapsed.TotalSeconds, 2)));
        }

        return results;
    }
}
