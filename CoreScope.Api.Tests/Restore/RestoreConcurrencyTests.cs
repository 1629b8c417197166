using System.Diagnostics;
using System.Net.Http.Json;
using CoreScope.Data.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// docs/restore.md, "While it runs": one restore or backup at a time, our writes wait or get a 503, and another
/// process writing the same file keeps working through it.
/// </summary>
public sealed class RestoreConcurrencyTests : WorkspaceTests
{
    [Test]
    public async Task TwoRestoresAtOnce_TheSecondIsRefusedWith429_AndSoIsABackup()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 300);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        factory.StartKestrel();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        var bytes = await File.ReadAllBytesAsync(backup);
        var release = new TaskCompletionSource();
        var gated = new RestoreFiles.GatedContent(bytes, bytes.Length / 2, release.Task);
        gated.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");

        var first = client.PostAsync("/api/admin/restore", gated);
        await gated.FirstPartSent.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // The client has sent half the body; the server must also have taken the gate for it before the second comes.
        await factory.Logs.WaitForAsync("staging upload", timeoutMs: 30_000);
        using var second = await RestoreFiles.PostRestoreAsync(client, backup);
        using var backupMeanwhile = await client.GetAsync("/api/backup");
        release.SetResult();
        using var firstResponse = await first;

        (await RestoreFiles.ReadJsonAsync(firstResponse, HttpStatusCode.OK)).GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(300);
        var refused = await RestoreFiles.ReadJsonAsync(second, HttpStatusCode.TooManyRequests);
        refused.GetProperty("error").GetString().Should().Contain("Another backup or restore is running");
        second.Headers.RetryAfter!.Delta.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
        backupMeanwhile.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "backups and restores share one gate");
        RestoreFiles.SafetyCopies(Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, "backups")).Should().ContainSingle();
    }

    [Test]
    public async Task Ingest_WhileARestoreHoldsTheWriter_WaitsItsBoundThenGets503WithRetryAfter()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey,
            new Dictionary<string, string?> { ["CoreScope:Restore:WriteWaitSeconds"] = "1" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        (await client.GetAsync("/api/health")).EnsureSuccessStatusCode();
        var writer = factory.Services.GetRequiredService<DatabaseWriter>();

        HttpResponseMessage refused;
        var stopwatch = Stopwatch.StartNew();
        await using (await writer.HoldAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), CancellationToken.None))
        {
            refused = await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert });
        }

        stopwatch.Elapsed.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(0.9), "the write waited its bound first");
        var problem = await RestoreFiles.ReadJsonAsync(refused, HttpStatusCode.ServiceUnavailable);
        problem.GetProperty("error").GetString().Should().Contain("being restored");
        refused.Headers.RetryAfter!.Delta.Should().Be(TimeSpan.FromSeconds(5));
        refused.Dispose();

        // A hold shorter than the bound: the write just waits and then goes through.
        var hold = await writer.HoldAsync(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5), CancellationToken.None);
        var waiting = client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert });
        await Task.Delay(300);
        waiting.IsCompleted.Should().BeFalse("the write waits while the writer is held");
        await hold.DisposeAsync();
        using var accepted = await waiting;
        accepted.StatusCode.Should().Be(HttpStatusCode.OK);
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(1);
    }

    [Test]
    public async Task AnotherProcessWritingThroughTheRestore_KeepsWorking_AndItsLaterRowsLandInTheRestoredContent()
    {
        if (!File.Exists("/usr/bin/sqlite3"))
        {
            Assert.Fail("sqlite3 is needed (apt-get install -y sqlite3; .ci/setup does it).");
        }

        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 8_000, payloadBytes: 400);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));

        // The ingestor of another process: the sqlite3 CLI, its own connection, an insert every 50 ms, each numbered.
        const int Inserts = 120;
        var script = $$"""
            for i in $(seq 1 {{Inserts}}); do
              sqlite3 -cmd '.timeout 20000' "$DB" "INSERT INTO transmissions (raw_hex, hash, first_seen) VALUES ('00', 'outside-$i', '2026-11-26T00:00:00Z');" || echo "insert $i failed"
              sleep 0.05
            done
            """;
        var outside = ExternalTools.RunAsync("bash", ["-c", script], new Dictionary<string, string?> { ["DB"] = Workspace.DatabasePath }, timeoutMs: 120_000);
        await WaitForOutsideRowsAsync(10);

        using var response = await RestoreFiles.PostRestoreAsync(client, backup);
        (await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK)).GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(8_000);
        var (exitCode, output, error) = await outside;

        exitCode.Should().Be(0);
        (output + error).Should().NotContain("failed").And.NotContain("locked").And.NotContain("Error");
        var numbers = OutsideRowNumbers();
        numbers.Should().NotBeEmpty().And.HaveElementAt(numbers.Count - 1, Inserts, "the last insert landed");
        numbers.First().Should().BeGreaterThan(10, "the rows written before the restore are replaced by the backup's content");
        numbers.Should().Equal(Enumerable.Range(numbers.First(), numbers.Count), "every insert after the commit is there, none lost");
        numbers.Count.Should().BeGreaterThan(10, "the process went on writing after the restore");
        TestDatabase.IntegrityCheck(Workspace.DatabasePath).Should().Be("ok");
        DatabaseContent.Count(Workspace.DatabasePath, "SELECT COUNT(*) FROM transmissions WHERE hash NOT LIKE 'outside-%'").Should().Be(8_000);
    }

    private List<int> OutsideRowNumbers()
    {
        using var connection = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        return Dapper.SqlMapper.Query<int>(connection,
            "SELECT CAST(substr(hash, 9) AS INTEGER) AS n FROM transmissions WHERE hash LIKE 'outside-%' ORDER BY n").ToList();
    }

    private async Task WaitForOutsideRowsAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (OutsideRowNumbers().Count < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The outside writer did not write " + count + " rows.");
            }

            await Task.Delay(50);
        }
    }
}
