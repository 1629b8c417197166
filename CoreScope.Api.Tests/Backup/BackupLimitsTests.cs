using System.Data.SQLite;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using CoreScope.Data.Backup;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/backup.md, "Limits": the rate limit, one snapshot at a time, stalled clients and the disk.</summary>
public sealed class BackupLimitsTests : WorkspaceTests
{
    [Test]
    public async Task Backup_TwiceInAMinuteAtTheDefaultLimit_SecondIs429WithRetryAfter()
    {
        await CreateDatabaseAsync(transmissions: 10);
        var server = CreateServer(("CoreScope:Backup:PermitsPerMinute", "1"));
        using var client = server.CreateOperatorClient();

        using var first = await client.GetAsync("/api/backup");
        using var second = await client.GetAsync("/api/backup");

        first.StatusCode.Should().Be(HttpStatusCode.OK);
        second.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        second.Headers.RetryAfter!.Delta!.Value.TotalSeconds.Should().BeInRange(1, 60, "the next token comes within the minute");
        (await second.ErrorMemberAsync()).Should().Contain("per minute").And.Contain("PermitsPerMinute");
        Workspace.BackupTempEntries().Should().BeEmpty();

        using var anonymous = server.CreateClient(key: null);
        (await anonymous.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.Unauthorized,
            "a stranger's requests count against their own bucket, not the operator's");
    }

    [TestCase("?compress=zip", HttpStatusCode.BadRequest)]
    [TestCase("?method=copy", HttpStatusCode.BadRequest)]
    public async Task Backup_AfterARequestRefusedWith400_AtTheDefaultLimit_StillHasItsPermit(string query, HttpStatusCode refusal)
    {
        await CreateDatabaseAsync(transmissions: 10);
        using var client = CreateServer(("CoreScope:Backup:PermitsPerMinute", "1")).CreateOperatorClient();

        using var refused = await client.GetAsync("/api/backup" + query);
        using var corrected = await client.GetAsync("/api/backup");
        using var third = await client.GetAsync("/api/backup");

        refused.StatusCode.Should().Be(refusal);
        corrected.StatusCode.Should().Be(HttpStatusCode.OK, "only a backup that started spends the permit");
        third.StatusCode.Should().Be(HttpStatusCode.TooManyRequests, "the one that started did");
        (await third.ErrorMemberAsync()).Should().Contain("PermitsPerMinute");
    }

    [Test]
    public async Task Backup_AfterA429BecauseAnotherBackupRan_AtTheDefaultLimit_StillHasItsPermit()
    {
        await CreateDatabaseAsync(transmissions: 10);
        var server = CreateServer(("CoreScope:Backup:PermitsPerMinute", "1"));
        using var client = server.CreateOperatorClient();

        // Another backup holds the only slot (a scheduled one, say, in the same process).
        var running = await server.Services.GetRequiredService<BackupService>().CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None);
        using (var busy = await client.GetAsync("/api/backup"))
        {
            busy.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            (await busy.ErrorMemberAsync()).Should().Contain("already running");
        }

        await running.DisposeAsync();
        using var retried = await client.GetAsync("/api/backup");

        retried.StatusCode.Should().Be(HttpStatusCode.OK, "the busy answer spent nothing");
    }

    [Test]
    public async Task Backup_AfterA507_AtTheDefaultLimit_StillHasItsPermit()
    {
        RequireRootForTmpfs();
        await CreateDatabaseAsync(transmissions: 8_000, payloadBytes: 400);
        var mountPoint = Workspace.BackupTempDirectory;
        Run("mount", $"-t tmpfs -o size=2m tmpfs {mountPoint}");
        try
        {
            await using var server = CreateServer(("CoreScope:Backup:PermitsPerMinute", "1"), ("CoreScope:Backup:FreeSpaceMarginMB", "1"));
            using var client = server.CreateOperatorClient();
            (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InsufficientStorage);

            Run("mount", $"-o remount,size=64m {mountPoint}");
            using var retried = await client.GetAsync("/api/backup");

            retried.StatusCode.Should().Be(HttpStatusCode.OK, "the 507 spent nothing");
            await retried.Content.ReadAsByteArrayAsync();
        }
        finally
        {
            Unmount(mountPoint);
        }
    }

    [Test]
    public async Task Backup_TwentyAtOnceWithMaxConcurrentOne_OneSnapshotAtATimeAndTheRest429()
    {
        await CreateDatabaseAsync(transmissions: 12_000, payloadBytes: 400);
        var address = CreateServer(("CoreScope:Backup:MaxConcurrent", "1")).StartKestrel();
        using var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);

        using var watching = new CancellationTokenSource();
        var mostSnapshots = 0;
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                mostSnapshots = Math.Max(mostSnapshots, Workspace.BackupTempEntries().Length);
                await Task.Delay(2);
            }
        });

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var response = await client.GetAsync("/api/backup");
            var body = await response.Content.ReadAsByteArrayAsync();
            return (response.StatusCode, RetryAfter: response.Headers.RetryAfter?.Delta, Body: body);
        }));
        await watching.CancelAsync();
        await watcher;

        responses.Count(response => response.StatusCode == HttpStatusCode.OK).Should().BeGreaterThanOrEqualTo(1);
        responses.Where(response => response.StatusCode != HttpStatusCode.OK).Should().AllSatisfy(response =>
        {
            response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            response.RetryAfter.Should().NotBeNull().And.BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
            Encoding.UTF8.GetString(response.Body).Should().Contain("already running");
        });
        responses.Count(response => response.StatusCode == HttpStatusCode.TooManyRequests).Should().BeGreaterThan(10);
        mostSnapshots.Should().BeLessThanOrEqualTo(1, "the temp folder never holds more than one snapshot");
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    /// <summary>The 2-second slot wait of <c>SnapshotSlots</c>: it covers the cleanup after a download, not a download.</summary>
    [Test]
    public async Task Backup_RightAfterAnotherFinished_IsNotRefused()
    {
        await CreateDatabaseAsync(transmissions: 100);
        var service = CreateServer().Services.GetRequiredService<BackupService>();

        // A download that ends a moment after the next request arrives: the next one waits for the place.
        var first = await service.CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None);
        var second = service.CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None);
        await Task.Delay(300);
        second.IsCompleted.Should().BeFalse("the place is still taken");
        await first.DisposeAsync();
        await using (await second)
        {
            Workspace.BackupTempEntries().Should().ContainSingle();

            // A download that goes on: the next request is refused with the wait, not queued for ever.
            var stopwatch = Stopwatch.StartNew();
            var third = () => service.CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None);
            (await third.Should().ThrowAsync<BackupBusyException>()).Which.RetryAfter.Should().BePositive();
            stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5));
        }

        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    [Test]
    public async Task Backup_ToClientThatStopsReading_WithTheDefaultSettings_IsCutWithinSeconds_AndItsSnapshotDeleted()
    {
        // The defaults: MinDownloadBytesPerSecond 240 after a 5 s grace, MaxDownloadSeconds 1800. Before the progress
        // watchdog such a client held the snapshot and the only slot for the whole 1800 s.
        await CreateDatabaseAsync(transmissions: 30_000, payloadBytes: 600);
        var server = CreateServer();
        var address = server.StartKestrel();

        using var stalled = await StartDownloadAndStopReadingAsync(address);
        var stalledAt = Stopwatch.StartNew();

        await Eventually.EmptyAsync(Workspace.BackupTempDirectory, timeoutMs: 20_000);
        stalledAt.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(4), "the grace period comes first")
            .And.BeLessThan(TimeSpan.FromSeconds(10), "cut within the grace period plus a few seconds");
        server.Logs.Lines.Should().ContainSingle(line => line.Message.Contains("Backup download to 127.0.0.1 cut", StringComparison.Ordinal));
        using var client = server.CreateOperatorClient();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK, "the slot the stalled client held is free again");
    }

    [Test]
    public async Task Backup_ToStalledClient_IsCutOffAtTheDeadline_AndItsSnapshotDeleted()
    {
        await CreateDatabaseAsync(transmissions: 30_000, payloadBytes: 600);
        var server = CreateServer(("CoreScope:Backup:MaxDownloadSeconds", "2"), ("CoreScope:Backup:MinDownloadBytesPerSecond", "0"));
        var address = server.StartKestrel();

        using var stalled = await StartDownloadAndStopReadingAsync(address);
        var stalledAt = Stopwatch.StartNew();

        await Eventually.EmptyAsync(Workspace.BackupTempDirectory, timeoutMs: 20_000);
        stalledAt.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(1.5)).And.BeLessThan(TimeSpan.FromSeconds(5));
        using var client = server.CreateOperatorClient();

        // Cut by the server: a backup that failed, with the reason.
        using (var health = JsonDocument.Parse(await client.GetStringAsync("/api/health")))
        {
            health.RootElement.GetProperty("backup").GetProperty("lastFailureReason").GetString()
                .Should().Contain("The server cut the download off").And.Contain("MaxDownloadSeconds (2 s)");
        }

        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK, "the slot the stalled client held is free again");
    }

    [Test]
    public async Task Backup_TheClientLeavesHalfWay_IsCancelled_NotAFailedBackup()
    {
        await CreateDatabaseAsync(transmissions: 30_000, payloadBytes: 600);
        var server = CreateServer();
        var address = server.StartKestrel();

        // A browser's cancel or a Ctrl+C: the client closes the connection itself.
        using (await StartDownloadAndStopReadingAsync(address))
        {
        }

        await Eventually.EmptyAsync(Workspace.BackupTempDirectory, timeoutMs: 20_000);
        using var client = server.CreateOperatorClient();
        var metrics = "";
        await Eventually.TrueAsync(async () =>
        {
            metrics = await client.GetStringAsync("/metrics");
            return metrics.Contains("outcome=\"cancelled\"", StringComparison.Ordinal);
        }, "the cancelled download in /metrics; the audit said: " + string.Join(" | ", server.Logs.Lines.Where(line => line.Message.Contains("audit", StringComparison.Ordinal)).Select(line => line.Message)));
        Diagnostics.MetricsTests.Sample(metrics, "corescope_backups_total", "outcome=\"cancelled\"", "trigger=\"download\"").Should().Be(1);
        Diagnostics.MetricsTests.Sample(metrics, "corescope_backups_total", "outcome=\"failure\"", "trigger=\"download\"").Should().Be(0);
        using var health = JsonDocument.Parse(await client.GetStringAsync("/api/health"));
        health.RootElement.GetProperty("backup").GetProperty("lastFailureAt").ValueKind.Should().Be(JsonValueKind.Null,
            "a client that leaves is not a failure of the server's backups, and raises no alert");
    }

    [Test]
    public async Task Backup_ToSlowClientThatKeepsReading_IsNotCut()
    {
        await CreateDatabaseAsync(transmissions: 30_000, payloadBytes: 600);
        var server = CreateServer();
        var address = server.StartKestrel();
        using var client = new HttpClient { BaseAddress = address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/backup");
        request.Headers.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var length = response.Content.Headers.ContentLength!.Value;
        await using var body = await response.Content.ReadAsStreamAsync();

        // About 64 KB/s for 12 s (two windows and more), then the rest at full speed.
        var buffer = new byte[16 * 1024];
        long read = 0;
        var slowUntil = Stopwatch.StartNew();
        while (slowUntil.Elapsed < TimeSpan.FromSeconds(12))
        {
            read += await body.ReadAsync(buffer);
            await Task.Delay(250);
        }

        int count;
        while ((count = await body.ReadAsync(buffer)) > 0)
        {
            read += count;
        }

        read.Should().Be(length, "a slow client above the minimum rate gets every byte");
        server.Logs.Lines.Should().NotContain(line => line.Message.Contains("cut", StringComparison.Ordinal));
    }

    // A client that sends the request, reads the first bytes of the answer and then nothing more.
    private static async Task<TcpClient> StartDownloadAndStopReadingAsync(Uri address)
    {
        var socket = new TcpClient { ReceiveBufferSize = 64 * 1024 };
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /api/backup HTTP/1.1\r\nHost: {address.Authority}\r\nX-API-Key: {CoreScopeApiFactory.StrongApiKey}\r\n\r\n"));
        var head = new byte[16 * 1024];
        var got = await stream.ReadAsync(head);
        Encoding.ASCII.GetString(head, 0, got).Should().StartWith("HTTP/1.1 200");
        return socket;
    }

    [Test]
    public async Task Backup_WhenTempFolderTooSmall_Returns507_LeavesNothing_AndTheNextWorksWhenThereIsRoom()
    {
        RequireRootForTmpfs();

        await CreateDatabaseAsync(transmissions: 8_000, payloadBytes: 400);
        var mountPoint = Workspace.BackupTempDirectory;
        Run("mount", $"-t tmpfs -o size=2m tmpfs {mountPoint}");
        try
        {
            // Disposed here, not after the test: the tmpfs can only be unmounted once the server has let go of it.
            await using var server = CreateServer(("CoreScope:Backup:FreeSpaceMarginMB", "1"));
            using var client = server.CreateOperatorClient();

            using var refused = await client.GetAsync("/api/backup");

            refused.StatusCode.Should().Be(HttpStatusCode.InsufficientStorage);
            var error = await refused.ErrorMemberAsync();
            error.Should().Contain("needs").And.Contain("MB is free").And.Contain("TempDirectory");
            Workspace.BackupTempEntries().Should().BeEmpty();
            (await client.GetAsync("/api/health")).StatusCode.Should().Be(HttpStatusCode.OK);

            Run("mount", $"-o remount,size=64m {mountPoint}");
            using var accepted = await client.GetAsync("/api/backup");
            accepted.StatusCode.Should().Be(HttpStatusCode.OK);
            var path = await SaveDownloadAsync(await accepted.Content.ReadAsByteArrayAsync(), "after-507.db");
            TestDatabase.IntegrityCheck(path).Should().Be("ok");
        }
        finally
        {
            Unmount(mountPoint);
        }
    }

    [Test]
    public async Task Backup_WithPagesOnATempDiskThatHoldsTheDataButNotTheFreePages_Returns507_WhileVacuumFits()
    {
        RequireRootForTmpfs();
        await CreateDatabaseAsync(transmissions: 8_000, payloadBytes: 400);
        using (var db = TestDatabase.Open(Workspace.DatabasePath))
        {
            // A prune without VACUUM: the file keeps its size, most of it free pages the page copy copies too.
            db.Execute("DELETE FROM observations; DELETE FROM transmissions WHERE id > 400; PRAGMA wal_checkpoint(TRUNCATE);");
            var pages = db.ExecuteScalar<long>("PRAGMA page_count");
            var free = db.ExecuteScalar<long>("PRAGMA freelist_count");
            (pages * 4096).Should().BeGreaterThan(8L * 1024 * 1024);
            ((pages - free) * 4096).Should().BeLessThan(1024L * 1024);
        }

        var mountPoint = Workspace.BackupTempDirectory;
        Run("mount", $"-t tmpfs -o size=4m tmpfs {mountPoint}");
        try
        {
            await using var server = CreateServer(("CoreScope:Backup:FreeSpaceMarginMB", "1"));
            using var client = server.CreateOperatorClient();

            using var pagesCopy = await client.GetAsync("/api/backup?method=pages");
            using var vacuum = await client.GetAsync("/api/backup?method=vacuum");

            pagesCopy.StatusCode.Should().Be(HttpStatusCode.InsufficientStorage, await pagesCopy.Content.ReadAsStringAsync());
            (await pagesCopy.ErrorMemberAsync()).Should().Contain("needs").And.Contain("free pages");
            vacuum.StatusCode.Should().Be(HttpStatusCode.OK, "VACUUM INTO writes only the used pages");
            var path = await SaveDownloadAsync(await vacuum.Content.ReadAsByteArrayAsync(), "vacuum-on-small-disk.db");
            TestDatabase.IntegrityCheck(path).Should().Be("ok");
            await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
        }
        finally
        {
            Unmount(mountPoint);
        }
    }

    [Test]
    public async Task Classify_DiskIoErrorOnAFullDisk_IsInsufficientStorage_ButNotOnOneWithRoom()
    {
        RequireRootForTmpfs();
        var mountPoint = Workspace.BackupTempDirectory;
        Run("mount", $"-t tmpfs -o size=1m tmpfs {mountPoint}");
        try
        {
            var folder = Directory.CreateDirectory(Path.Combine(mountPoint, "corescope-snapshot-full")).FullName;
            var ioError = new SQLiteException(SQLiteErrorCode.IoErr, "disk I/O error");
            SnapshotFailures.Classify(ioError, folder).Failure.Should().Be(BackupFailure.Failed, "a disk with room has another problem");

            // Fill the disk the way a snapshot does, until the file system refuses.
            await using (var filler = new FileStream(Path.Combine(folder, "corescope.db"), FileMode.CreateNew))
            {
                var act = async () =>
                {
                    while (true)
                    {
                        await filler.WriteAsync(new byte[64 * 1024]);
                        await filler.FlushAsync();
                    }
                };
                await act.Should().ThrowAsync<IOException>();
            }

            var failure = SnapshotFailures.Classify(ioError, folder);

            failure.Failure.Should().Be(BackupFailure.InsufficientStorage);
            failure.Message.Should().Contain("filled up");
        }
        finally
        {
            Unmount(mountPoint);
        }
    }

    [Test]
    public void Classify_DiskFullDuringSnapshot_IsInsufficientStorage()
    {
        var failure = SnapshotFailures.Classify(
            new SQLiteException(SQLiteErrorCode.Full, "database or disk is full"),
            Workspace.BackupTempDirectory);

        failure.Failure.Should().Be(BackupFailure.InsufficientStorage);
        failure.Message.Should().Contain("filled up").And.Contain("removed");
    }

    // A server that has just let go of the tmpfs may still be closing a file on it for a moment: wait for that rather
    // than leave the mount behind, and detach it lazily as the last resort.
    private static void Unmount(string mountPoint)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            using var process = Process.Start(new ProcessStartInfo("umount", mountPoint) { RedirectStandardError = true })!;
            process.WaitForExit();
            if (process.ExitCode == 0)
            {
                return;
            }

            Thread.Sleep(250);
        }

        Run("umount", $"-l {mountPoint}");
    }

    private static void RequireRootForTmpfs()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Assert.Ignore("Mounting a small tmpfs needs root on Linux; CI runs as root. Skipped here for that reason.");
        }
    }

    private static void Run(string command, string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(command, arguments) { RedirectStandardError = true })!;
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{command} {arguments} failed: {process.StandardError.ReadToEnd()}");
        }
    }
}
