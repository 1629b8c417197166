namespace CoreScope.Api.Tests.Operators;

/// <summary>
/// Runs <c>bench/CoreScope.Bench quick</c> (a 32 MB database, every measurement once) so the benchmark cannot rot.
/// It checks that each measurement ran and produced sane numbers, not the speed targets: those live in the
/// benchmark's own tables.
/// </summary>
[Category("Slow")]
public sealed class BenchmarkQuickTests : WorkspaceTests
{
    [Test]
    public async Task Quick_RunsEveryBenchmarkAndWritesItsResults()
    {
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var bench = Path.Combine(ExternalTools.RepositoryRoot, "bench", "CoreScope.Bench", "bin", configuration, "net10.0", "CoreScope.Bench.dll");
        File.Exists(bench).Should().BeTrue($"the test project builds the benchmark first ({bench})");
        var results = Path.Combine(Workspace.Root, "results");

        var (exitCode, output, error) = await ExternalTools.RunAsync("dotnet", [bench, "quick", "--results", results], timeoutMs: 240_000);

        exitCode.Should().Be(0, output + error);
        output.Should().Contain("| method").And.Contain("GET /api/backup, pages + gzip").And.Contain("| target");
        var json = Directory.GetFiles(results, "quick-*.json").Should().ContainSingle().Subject;
        Directory.GetFiles(results, "quick-*.md").Should().ContainSingle();
        using var document = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var root = document.RootElement;

        var timings = root.GetProperty("backup").GetProperty("Timings").EnumerateArray().ToList();
        timings.Select(timing => timing.GetProperty("Name").GetString()).Should().Contain(
        [
            "cp of the file", "sqlite3 CLI VACUUM INTO", "online backup API, one step (in-process)",
            "BackupService, vacuum (in-process)", "BackupService, pages (in-process)",
            "gzip of a snapshot, one GZipStream (in-process)", "gzip of a snapshot, ParallelGzip (in-process)",
            "GET /api/backup, vacuum", "GET /api/backup, pages", "GET /api/backup, vacuum + gzip",
        ]);
        timings.Should().AllSatisfy(timing =>
        {
            timing.GetProperty("Seconds").EnumerateArray().Single().GetDouble().Should().BePositive();
            timing.GetProperty("OutputBytes").GetInt64().Should().BeGreaterThan(1024 * 1024);
        });

        root.GetProperty("writers").EnumerateArray().Should().HaveCount(4).And.AllSatisfy(phase =>
        {
            phase.GetProperty("Commits").GetInt32().Should().BePositive();
            phase.GetProperty("Errors").GetInt32().Should().Be(0);
        });
        root.GetProperty("writers").EnumerateArray().Where(phase => phase.GetProperty("WithBackups").GetBoolean())
            .Should().AllSatisfy(phase => phase.GetProperty("Backups").GetInt32().Should().BePositive());
        root.GetProperty("memory").EnumerateArray().Should().HaveCount(3).And.AllSatisfy(result =>
            result.GetProperty("RssPeakMB").GetDouble().Should().BeGreaterThanOrEqualTo(result.GetProperty("RssBeforeMB").GetDouble()));
    }
}
