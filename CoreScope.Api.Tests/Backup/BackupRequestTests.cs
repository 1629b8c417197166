using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/backup.md, "What happens on a request": a whole, consistent file with its headers, and its staging folder gone after the response.</summary>
public sealed class BackupRequestTests : WorkspaceTests
{
    [Test]
    public async Task Backup_OfPopulatedWalDatabase_ReturnsCompleteSnapshotWithHeaders()
    {
        await CreateDatabaseAsync(transmissions: 300, observationsEach: 2);
        using var client = CreateServer().CreateOperatorClient();
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/octet-stream");
        response.Headers.GetValues("X-Content-Type-Options").Should().Equal("nosniff");
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
        var disposition = response.Content.Headers.GetValues("Content-Disposition").Single();
        var match = Regex.Match(disposition, "^attachment; filename=\"corescope-backup-([0-9]+)\\.db\"$");
        match.Success.Should().BeTrue(disposition);
        long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture).Should().BeInRange(before, before + 60);

        var body = await response.Content.ReadAsByteArrayAsync();
        response.Content.Headers.ContentLength.Should().Be(body.Length);
        Encoding.ASCII.GetString(body, 0, 16).Should().Be("SQLite format 3\0");

        var snapshotPath = await SaveDownloadAsync(body, "backup.db");
        TestDatabase.IntegrityCheck(snapshotPath).Should().Be("ok");
        TestDatabase.SchemaObjects(snapshotPath).Should().BeEquivalentTo(TestDatabase.SchemaObjects(Workspace.DatabasePath));
        var counts = TestDatabase.RowCounts(snapshotPath);
        counts.Should().BeEquivalentTo(TestDatabase.RowCounts(Workspace.DatabasePath));
        counts["transmissions"].Should().Be(300);
        counts["observations"].Should().Be(600);
        response.Headers.GetValues("X-Backup-Rows-Transmissions").Should().Equal("300");
        response.Headers.GetValues("X-Backup-Rows-Observations").Should().Equal("600");
    }

    /// <summary>The database the original CoreScope wrote: the server takes it over and backs it up whole.</summary>
    [Test]
    public async Task Backup_OfOriginalsFixture_OpensUpgradesAndHoldsEveryRow()
    {
        Workspace.UseOriginalsFixture();
        using var client = CreateServer().CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var path = await SaveDownloadAsync(await response.Content.ReadAsByteArrayAsync(), "fixture-backup.db");
        TestDatabase.IntegrityCheck(path).Should().Be("ok");
        var counts = TestDatabase.RowCounts(path);
        counts["nodes"].Should().Be(200);
        counts["observers"].Should().Be(31);
        counts["transmissions"].Should().Be(499);
        counts["observations"].Should().Be(500);
        TestDatabase.SchemaObjects(path).Should().Contain(["table _migrations", "view packets_v"]);
    }

    [TestCase("")]
    [TestCase("?method=pages")]
    public async Task Backup_AfterFullDownload_LeavesTempFolderEmpty(string query)
    {
        await CreateDatabaseAsync(transmissions: 50);
        using var client = CreateServer().CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup" + query);
        await response.Content.ReadAsByteArrayAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    /// <summary>Over a real socket on 127.0.0.1: what a client that goes away does to the server.</summary>
    [Test]
    public async Task Backup_AbortedMidBody_DeletesSnapshotAndServerGoesOn()
    {
        await CreateDatabaseAsync(transmissions: 12_000, payloadBytes: 400);
        new FileInfo(Workspace.DatabasePath).Length.Should().BeGreaterThan(8 * 1024 * 1024);
        var address = CreateServer().StartKestrel();
        address.Host.Should().Be("127.0.0.1");

        using (var client = new HttpClient { BaseAddress = address })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/backup");
            request.Headers.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            var read = 0;
            while (read < 256 * 1024)
            {
                read += await stream.ReadAsync(buffer);
            }

            response.Content.Headers.ContentLength.Should().BeGreaterThan(read * 4L, "the client leaves well before the end");
            Workspace.BackupTempEntries().Should().HaveCount(1, "the snapshot is on disk while it is being sent");

            // Dropping the response mid-body closes the connection under the server.
            response.Dispose();
        }

        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);

        using var next = new HttpClient { BaseAddress = address };
        next.DefaultRequestHeaders.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
        var path = await SaveDownloadAsync(await next.GetByteArrayAsync("/api/backup"), "after-abort.db");
        TestDatabase.IntegrityCheck(path).Should().Be("ok");
        TestDatabase.RowCounts(path)["transmissions"].Should().Be(12_000);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    [Test]
    [Category("Slow")]
    public async Task Backup_HundredTimesAThirdAbortedAtRandomPoints_LeavesNothingBehind()
    {
        await CreateDatabaseAsync(transmissions: 5_000, payloadBytes: 400);
        var address = CreateServer().StartKestrel();
        var random = new Random(2026);
        var completed = 0;
        var aborted = 0;

        for (var download = 0; download < 100; download++)
        {
            var abort = download % 3 == 0;
            using var client = new HttpClient { BaseAddress = address };
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/backup");
            request.Headers.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                // The server has not yet noticed the previous client left; wait as it says, briefly.
                response.Dispose();
                await Task.Delay(50);
                download--;
                continue;
            }

            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var length = response.Content.Headers.ContentLength!.Value;
            await using (var body = await response.Content.ReadAsStreamAsync())
            {
                var stopAt = abort ? random.NextInt64(0, length) : long.MaxValue;
                var buffer = new byte[32 * 1024];
                long read = 0;
                int count;
                while (read < stopAt && (count = await body.ReadAsync(buffer)) > 0)
                {
                    read += count;
                }

                if (abort)
                {
                    aborted++;
                }
                else
                {
                    read.Should().Be(length);
                    completed++;
                }
            }

            response.Dispose();
        }

        completed.Should().Be(66);
        aborted.Should().Be(34);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
        using var check = new HttpClient { BaseAddress = address };
        (await check.GetAsync("/api/health")).StatusCode.Should().Be(HttpStatusCode.OK);
        check.DefaultRequestHeaders.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
        var path = await SaveDownloadAsync(await check.GetByteArrayAsync("/api/backup"), "after.db");
        TestDatabase.IntegrityCheck(path).Should().Be("ok");
        TestDatabase.RowCounts(path)["transmissions"].Should().Be(5_000);
    }

    [Test]
    public async Task Start_RemovesSnapshotFoldersNoLiveProcessOwns_AndNothingElse()
    {
        // Left by a crash: the owner lock is there, but nobody holds it any more (the kernel dropped it with the process).
        var crashed = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "corescope-snapshot-0123abcd"));
        await File.WriteAllTextAsync(Path.Combine(crashed.FullName, "corescope.db"), "half a snapshot");
        await File.WriteAllTextAsync(Path.Combine(crashed.FullName, "owner.lock"), "CoreScope.Analyzer process 1");

        // Left by a version without the lock, long ago; and one without a lock made a moment ago (being made right now).
        var legacy = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "corescope-snapshot-4567cdef"));
        Directory.SetLastWriteTimeUtc(legacy.FullName, DateTime.UtcNow.AddMinutes(-5));
        var young = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "corescope-snapshot-89abef01"));

        // Owned by a live process: its lock is held.
        var live = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "corescope-snapshot-live0001"));
        await using var liveLock = new FileStream(Path.Combine(live.FullName, "owner.lock"), FileMode.CreateNew, FileAccess.Write, FileShare.None);
        var unrelated = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "someone-elses-folder"));

        using var client = CreateServer().CreateClient(key: null);
        await client.GetAsync("/api/openapi");

        Directory.Exists(crashed.FullName).Should().BeFalse();
        Directory.Exists(legacy.FullName).Should().BeFalse();
        Directory.Exists(young.FullName).Should().BeTrue("a folder without a lock may be one another server is making this instant");
        Directory.Exists(live.FullName).Should().BeTrue("its owner holds its lock");
        Directory.Exists(unrelated.FullName).Should().BeTrue();
    }

    [Test]
    public async Task Start_OfAnotherServerSharingTheTempFolder_LeavesTheSnapshotBeingSent()
    {
        // Two servers on one temp folder (the default is the system's): the second's start-up sweep must not take the
        // first's snapshot from under its download.
        await CreateDatabaseAsync(transmissions: 12_000, payloadBytes: 400);

        // The download pauses while the second server starts: no rate watchdog, which would cut it (not the subject here).
        var first = CreateServer(("CoreScope:Backup:MinDownloadBytesPerSecond", "0"));
        var address = first.StartKestrel();
        using var client = new HttpClient { BaseAddress = address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/backup");
        request.Headers.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        received.Write(buffer, 0, await body.ReadAsync(buffer));
        var snapshot = Workspace.BackupTempEntries().Should().ContainSingle().Subject;

        var secondDatabase = Path.Combine(Workspace.Root, "second", "corescope.db");
        var second = CreateServer(("CoreScope:Database:Path", secondDatabase));
        using (var secondClient = second.CreateClient(key: null))
        {
            (await secondClient.GetAsync("/api/health")).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        Directory.Exists(snapshot).Should().BeTrue("the first server owns it");
        second.Logs.Lines.Should().Contain(line => line.Message.Contains("Left 1 snapshot folders", StringComparison.Ordinal));
        await body.CopyToAsync(received);
        received.Length.Should().Be(response.Content.Headers.ContentLength!.Value);
        var path = await SaveDownloadAsync(received.ToArray(), "shared-temp.db");
        TestDatabase.IntegrityCheck(path).Should().Be("ok");
        TestDatabase.RowCounts(path)["transmissions"].Should().Be(12_000);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }
}
