using System.Data.SQLite;
using System.IO.Compression;
using CoreScope.Data.Backup;
using CoreScope.Data.Options;
using Dapper;
using CoreScope.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CoreScope.Bench;

public sealed record BackupBenchResult(string Database, long DatabaseBytes, int Runs, IReadOnlyList<Timing> Timings, double CliVacuumPlusCopySeconds);

/// <summary>
/// One database, every way to copy it: cp (the floor), the sqlite3 CLI's VACUUM INTO, the online backup API,
/// our BackupService in-process, and GET /api/backup end to end through the real server on 127.0.0.1.
/// </summary>
public static class BackupBench
{
    private const int CopyBufferBytes = 1024 * 1024;

    public static async Task<BackupBenchResult> RunAsync(string database, string work, int runs)
    {
        database = Path.GetFullPath(database);
        Directory.CreateDirectory(work);
        var timings = new List<Timing>();
        var target = Path.Combine(work, "copy.db");

        async Task<long> OutputSizeThenDelete()
        {
            var size = new FileInfo(target).Length;
            File.Delete(target);
            return size;
        }

        timings.Add(await Measure.RunsAsync("cp of the file", runs, async _ =>
        {
            await Measure.ProcessAsync("cp", database, target);
            return await OutputSizeThenDelete();
        }, "not a consistent copy while writers write"));

        var cliVacuum = await Measure.RunsAsync("sqlite3 CLI VACUUM INTO", runs, async _ =>
        {
            await Measure.ProcessAsync("sqlite3", "-readonly", database, $"VACUUM INTO '{target}'");
            return await OutputSizeThenDelete();
        }, "Debian's sqlite3");
        timings.Add(cliVacuum);

        // The sqlite3 CLI's output copied once more: what an operator with shell access does to fetch a backup.
        await Measure.ProcessAsync("sqlite3", "-readonly", database, $"VACUUM INTO '{target}'");
        var copyOfVacuum = await Measure.RunsAsync("cp of the VACUUM INTO output", runs, async _ =>
        {
            await Measure.ProcessAsync("cp", target, target + ".copy");
            var size = new FileInfo(target + ".copy").Length;
            File.Delete(target + ".copy");
            return size;
        });
        File.Delete(target);

        timings.Add(await Measure.RunsAsync("online backup API, one step (in-process)", runs, async _ =>
        {
            await using var source = new SQLiteConnection($"Data Source={database};Read Only=True;Pooling=False");
            await source.OpenAsync();
            await using var destination = new SQLiteConnection($"Data Source={target};Pooling=False");
            await destination.OpenAsync();
            await destination.ExecuteAsync("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;");
            source.BackupDatabase(destination, "main", "main", -1, null, 0);
            await destination.CloseAsync();
            return await OutputSizeThenDelete();
        }, "System.Data.SQLite BackupDatabase(-1)"));

        using var dataHost = CreateDataHost(database, work);
        var service = dataHost.Services.GetRequiredService<BackupService>();
        foreach (var method in new[] { SnapshotMethod.Vacuum, SnapshotMethod.Pages })
        {
            timings.Add(await Measure.RunsAsync($"BackupService, {method.ToString().ToLowerInvariant()} (in-process)", runs, async _ =>
            {
                await using var snapshot = await service.CreateSnapshotAsync(new SnapshotRequest(Method: method), CancellationToken.None);
                return snapshot.Length;
            }));
        }

        // The compressor alone, on a finished page copy: GZipStream on one core as 1.0 did, and ParallelGzip.
        await using (var snapshot = await service.CreateSnapshotAsync(new SnapshotRequest(Method: SnapshotMethod.Pages), CancellationToken.None))
        {
            var level = snapshot.CompressionLevel;
            timings.Add(await Measure.RunsAsync("gzip of a snapshot, one GZipStream (in-process)", runs, async _ =>
            {
                await using (var source = StagingFiles.OpenSequentialRead(snapshot.FilePath))
                await using (var file = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
                await using (var gzip = new GZipStream(file, level))
                {
                    await source.CopyToAsync(gzip, CopyBufferBytes);
                }

                return await OutputSizeThenDelete();
            }, "the compressor before issue 11, one core"));
            timings.Add(await Measure.RunsAsync("gzip of a snapshot, ParallelGzip (in-process)", runs, async _ =>
            {
                await using (var source = StagingFiles.OpenSequentialRead(snapshot.FilePath))
                await using (var file = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, 0, FileOptions.Asynchronous))
                {
                    await ParallelGzip.CompressAsync(source, file, level, CancellationToken.None);
                }

                return await OutputSizeThenDelete();
            }, $"{ParallelGzip.DefaultBlockBytes / 1048576} MiB members on {Environment.ProcessorCount} cores"));
        }

        await using (var server = await ServerProcess.StartAsync(database, Path.Combine(work, "server-tmp")))
        {
            using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromHours(1) };
            client.DefaultRequestHeaders.Add("X-API-Key", ServerProcess.ApiKey);
            foreach (var (query, label) in new[]
            {
                ("?method=vacuum", "GET /api/backup, vacuum"),
                ("?method=pages", "GET /api/backup, pages"),
                ("?method=vacuum&compress=gzip", "GET /api/backup, vacuum + gzip"),
                ("?method=pages&compress=gzip", "GET /api/backup, pages + gzip"),
            })
            {
                timings.Add(await Measure.RunsAsync(label, runs, async _ =>
                {
                    await DownloadAsync(client, "/api/backup" + query, target);
                    return await OutputSizeThenDelete();
                }, "end to end over 127.0.0.1, saved to a file"));
            }
        }

        return new BackupBenchResult(database, new FileInfo(database).Length, runs, timings, cliVacuum.Median + copyOfVacuum.Median);
    }

    public static async Task<long> DownloadAsync(HttpClient client, string path, string target)
    {
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync();
        await using var file = new FileStream(target, FileMode.Create, FileAccess.Write, FileShare.None, CopyBufferBytes, FileOptions.Asynchronous);
        await body.CopyToAsync(file, CopyBufferBytes);
        return file.Length;
    }

    // The server's own registrations (AddCoreScopeData), pointed at the bench database; the host is built, not
    // started, so the bench times the snapshot alone.
    private static IHost CreateDataHost(string database, string work)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = work });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["CoreScope:Database:Path"] = database,
            ["CoreScope:Backup:TempDirectory"] = Path.Combine(work, "service-tmp"),
            ["CoreScope:Backup:FreeSpaceMarginMB"] = "0",
        });
        builder.Services.AddCoreScopeData();
        return builder.Build();
    }
}
