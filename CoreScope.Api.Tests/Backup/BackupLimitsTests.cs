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

    [TestCase("CoreScope:Backup:MaxDownloadSeconds", "2", TestName = "Backup_ToStalledClient_IsCutOffAtTheDeadline_AndItsSnapshotDeleted")]
    [TestCase("CoreScope:Backup:MinDownloadBytesPerSecond", "50000000", TestName = "Backup_ToStalledClient_IsCutOffUnderTheMinimumRate_AndItsSnapshotDeleted")]
    public async Task Backup_ToStalledClient_IsCutOff_AndItsSnapshotDeleted(string setting, string value)
    {
        await CreateDatabaseAsync(transmissions: 30_000, payloadBytes: 600);
        var server = CreateServer((setting, value));
        var address = server.StartKestrel();

        using var socket = new TcpClient();
        socket.ReceiveBufferSize = 64 * 1024;
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"GET /api/backup HTTP/1.1\r\nHost: {address.Authority}\r\nX-API-Key: {CoreScopeApiFactory.StrongApiKey}\r\n\r\n"));
        var head = new byte[16 * 1024];
        var got = await stream.ReadAsync(head);
        Encoding.ASCII.GetString(head, 0, got).Should().StartWith("HTTP/1.1 200");
        var stalledAt = Stopwatch.StartNew();

        // The client reads nothing more; the server must give up on it by itself.
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory, timeoutMs: 20_000);
        stalledAt.Elapsed.Should().BeGreaterThan(TimeSpan.FromSeconds(1.5));

        using var client = server.CreateOperatorClient();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK, "the place the stalled client held is free again");
    }

    [Test]
    public async Task Backup_WhenTempFolderTooSmall_Returns507_LeavesNothing_AndTheNextWorksWhenThereIsRoom()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Assert.Ignore("Mounting a small tmpfs needs root on Linux; CI runs as root. Skipped here for that reason.");
        }

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
            Run("umount", mountPoint);
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
