using System.Globalization;

namespace CoreScope.Bench;

/// <summary>Runs each benchmark, prints its table and says of each target whether it was met.</summary>
public static class Benchmarks
{
    private const double MemoryGrowthTargetMB = 64;
    private const double EndToEndTargetRatio = 1.2;
    private const double GzipRatioTarget = 2;
    private const double GzipSpeedTargetMBps = 200;
    private const double PagesEndToEndTargetSeconds = 2.5;
    private const double ParallelGzipSpeedupTarget = 1.7;

    public static async Task<int> GenerateAsync(string path, int megabytes, Report report)
    {
        var result = await Generator.GenerateAsync(path, megabytes);
        report.Heading($"generate: {Path.GetFileName(path)}");
        report.Table(
            ["file MB", "transmissions", "observations", "seconds", "rows/s"],
            [[Report.Format(result.Bytes / 1048576.0, "0.0"), result.Transmissions.ToString("N0", CultureInfo.InvariantCulture), result.Observations.ToString("N0", CultureInfo.InvariantCulture),
              Report.Format(result.Seconds, "0.0"), ((result.Transmissions + result.Observations) / result.Seconds).ToString("N0", CultureInfo.InvariantCulture)]]);
        report.Data("generate", result);
        report.Save("generate");
        return 0;
    }

    public static async Task<int> BackupAsync(string database, string work, int runs, Report report)
    {
        var result = await BackupBench.RunAsync(database, work, runs);
        PrintBackup(result, report);
        report.Save("backup");
        return 0;
    }

    public static async Task<int> WritersAsync(string database, string work, int seconds, int rate, Report report)
    {
        var phases = await WritersBench.RunAsync(database, work, seconds, rate);
        PrintWriters(phases, seconds, rate, report);
        report.Save("writers");
        return 0;
    }

    public static async Task<int> MemoryAsync(string database, string work, Report report)
    {
        PrintMemory(await MemoryBench.RunAsync(database, work), report);
        report.Save("memory");
        return 0;
    }

    public static async Task<int> DrillAsync(string database, string work, Report report)
    {
        PrintDrill(await DrillBench.RunAsync(database, work), report);
        report.Save("drill");
        return 0;
    }

    /// <summary>Every benchmark once, small: a 32 MB database, one run, three seconds of writers.</summary>
    public static async Task<int> QuickAsync(Report report)
    {
        var folder = Path.Combine(Path.GetTempPath(), "corescope-bench-quick-" + Guid.NewGuid().ToString("N"));
        try
        {
            var database = Path.Combine(folder, "quick.db");
            var work = Path.Combine(folder, "work");
            var generated = await Generator.GenerateAsync(database, 32);
            report.Data("generate", generated);
            PrintBackup(await BackupBench.RunAsync(database, work, runs: 1), report);
            PrintWriters(await WritersBench.RunAsync(database, work, seconds: 3, rate: 50), 3, 50, report);
            PrintMemory(await MemoryBench.RunAsync(database, work), report);
            PrintDrill(await DrillBench.RunAsync(database, work), report);
            report.Save("quick");
            return 0;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void PrintBackup(BackupBenchResult result, Report report)
    {
        var sourceMB = result.DatabaseBytes / 1048576.0;
        var cp = result.Timings.Single(timing => timing.Name == "cp of the file").Median;
        var cli = result.Timings.Single(timing => timing.Name == "sqlite3 CLI VACUUM INTO").Median;
        report.Heading($"backup: {Report.Format(sourceMB, "0.0")} MB database, {result.Runs} run(s) each, medians");
        report.Table(
            ["method", "median s", "min s", "max s", "MB/s of source", "output MB", "output / source", "x sqlite3 CLI", "x cp", "note"],
            result.Timings.Select(timing => new[]
            {
                timing.Name, Report.Format(timing.Median), Report.Format(timing.Min), Report.Format(timing.Max),
                Report.Format(sourceMB / timing.Median, "0"), Report.Format(timing.OutputBytes / 1048576.0, "0.0"),
                Report.Format(timing.OutputBytes / (double)result.DatabaseBytes, "0.00"),
                Report.Format(timing.Median / cli), Report.Format(timing.Median / cp), timing.Note ?? "",
            }));

        var targets = new List<string[]>();
        foreach (var method in new[] { "vacuum", "pages" })
        {
            var http = result.Timings.Single(timing => timing.Name == $"GET /api/backup, {method}").Median;
            var ratio = http / result.CliVacuumPlusCopySeconds;
            targets.Add([$"HTTP backup ({method}) within {EndToEndTargetRatio}x of sqlite3 VACUUM INTO + cp ({Report.Format(result.CliVacuumPlusCopySeconds)} s)",
                $"{Report.Format(http)} s = {Report.Format(ratio)}x", Verdict(ratio <= EndToEndTargetRatio)]);
        }

        var vacuumHttp = result.Timings.Single(timing => timing.Name == "GET /api/backup, vacuum").Median;
        targets.Add([$"moonshot: HTTP backup (vacuum) within 1.0x of sqlite3 VACUUM INTO alone ({Report.Format(cli)} s)",
            $"{Report.Format(vacuumHttp)} s = {Report.Format(vacuumHttp / cli)}x", Verdict(vacuumHttp <= cli)]);
        var pagesHttp = result.Timings.Single(timing => timing.Name == "GET /api/backup, pages").Median;
        targets.Add([$"HTTP backup (pages) end to end within {PagesEndToEndTargetSeconds} s", $"{Report.Format(pagesHttp)} s", Verdict(pagesHttp <= PagesEndToEndTargetSeconds)]);

        foreach (var method in new[] { "vacuum", "pages" })
        {
            var gzip = result.Timings.Single(timing => timing.Name == $"GET /api/backup, {method} + gzip");
            var plain = result.Timings.Single(timing => timing.Name == $"GET /api/backup, {method}");
            var smaller = plain.OutputBytes / (double)gzip.OutputBytes;
            var speed = sourceMB / gzip.Median;
            targets.Add([$"gzip ({method}) at least {GzipRatioTarget}x smaller", Report.Format(smaller) + "x", Verdict(smaller >= GzipRatioTarget)]);
            targets.Add([$"gzip ({method}) at least {GzipSpeedTargetMBps} MB/s of source", Report.Format(speed, "0") + " MB/s", Verdict(speed >= GzipSpeedTargetMBps)]);
        }

        var single = result.Timings.Single(timing => timing.Name == "gzip of a snapshot, one GZipStream (in-process)").Median;
        var parallel = result.Timings.Single(timing => timing.Name == "gzip of a snapshot, ParallelGzip (in-process)").Median;
        targets.Add([$"ParallelGzip at least {ParallelGzipSpeedupTarget}x one GZipStream (the compressor alone)",
            $"{Report.Format(sourceMB / parallel, "0")} against {Report.Format(sourceMB / single, "0")} MB/s = {Report.Format(single / parallel)}x",
            Verdict(single / parallel >= ParallelGzipSpeedupTarget)]);

        report.Table(["target", "measured", "met"], targets);
        report.Data("backup", result);
    }

    private static void PrintWriters(IReadOnlyList<WriterPhase> phases, int seconds, int rate, Report report)
    {
        report.Heading($"writers: {rate} commits/s asked, {seconds} s per phase");
        report.Table(
            ["writer", "backups running", "commits", "commits/s", "p50 ms", "p99 ms", "max ms", "errors", "backups made", "WAL MB start", "WAL MB max"],
            phases.Select(phase => new[]
            {
                phase.Writer, phase.WithBackups ? "yes" : "no", phase.Commits.ToString("N0", CultureInfo.InvariantCulture), Report.Format(phase.CommitsPerSecond, "0.0"),
                Report.Format(phase.P50Ms), Report.Format(phase.P99Ms), Report.Format(phase.MaxMs), phase.Errors.ToString(CultureInfo.InvariantCulture),
                phase.Backups.ToString(CultureInfo.InvariantCulture), Report.Format(phase.WalStartMB, "0.0"), Report.Format(phase.WalMaxMB, "0.0"),
            }));

        var targets = new List<string[]>();
        foreach (var writer in phases.Select(phase => phase.Writer).Distinct())
        {
            var alone = phases.Single(phase => phase.Writer == writer && !phase.WithBackups);
            var busy = phases.Single(phase => phase.Writer == writer && phase.WithBackups);
            var throughput = busy.CommitsPerSecond / alone.CommitsPerSecond;
            var p99 = busy.P99Ms / alone.P99Ms;
            targets.Add([$"{writer}: throughput during backups at least 80% of alone", Report.Format(throughput * 100, "0") + "%", Verdict(throughput >= 0.8)]);
            targets.Add([$"{writer}: p99 during backups at most 3x alone", Report.Format(p99) + "x", Verdict(p99 <= 3)]);
            targets.Add([$"{writer}: no errors", (alone.Errors + busy.Errors).ToString(CultureInfo.InvariantCulture), Verdict(alone.Errors + busy.Errors == 0)]);
        }

        report.Table(["target", "measured", "met"], targets);
        report.Data("writers", phases);
    }

    private static void PrintMemory(IReadOnlyList<MemoryResult> results, Report report)
    {
        report.Heading("memory: the server's resident set while one backup downloads");
        report.Table(
            ["request", "database MB", "RSS before MB", "RSS peak MB", "growth MB", "seconds", $"growth under {MemoryGrowthTargetMB} MB"],
            results.Select(result => new[]
            {
                result.Method, Report.Format(result.DatabaseMB, "0.0"), Report.Format(result.RssBeforeMB, "0.0"), Report.Format(result.RssPeakMB, "0.0"),
                Report.Format(result.GrowthMB, "0.0"), Report.Format(result.Seconds), Verdict(result.GrowthMB < MemoryGrowthTargetMB),
            }));
        report.Data("memory", results);
    }

    private static void PrintDrill(IReadOnlyList<DrillResult> results, Report report)
    {
        report.Heading("drill: POST /api/backups/{id}/drill of a stored backup, the server's temp folder sampled every 50 ms");
        report.Table(
            ["Restore:IntegrityCheck", "database MB", "backup MB", "backup s", "drill s", "drill durationMs", "outcome", "peak temp MB", "peak / backup", "RSS growth MB", "of it anonymous MB", "load before", "load after"],
            results.Select(result => new[]
            {
                result.IntegrityCheck, Report.Format(result.DatabaseMB, "0.0"), Report.Format(result.BackupMB, "0.0"), Report.Format(result.BackupSeconds),
                Report.Format(result.DrillSeconds), result.DrillDurationMs.ToString(CultureInfo.InvariantCulture), result.Outcome,
                Report.Format(result.PeakTempMB, "0.0"), Report.Format(result.PeakTempOverBackup), Report.Format(result.RssGrowthMB, "0.0"),
                Report.Format(result.AnonGrowthMB, "0.0"), result.LoadBefore, result.LoadAfter,
            }));
        report.Data("drill", results);
    }

    private static string Verdict(bool met) => met ? "met" : "NOT met";
}
