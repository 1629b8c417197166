using System.Data.SQLite;
using System.Net;
using System.Text;
using CoreScope.Api.Tests.Infrastructure;
using Dapper;
using FluentAssertions;
using NUnit.Framework;

namespace CoreScope.Api.Tests.Controllers;

public sealed class BackupTests : WorkspaceTests
{
    [Test]
    public async Task Backup_OfPopulatedWalDatabase_ReturnsCompleteSnapshotWithHeaders()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 300, observationsEach: 2);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/octet-stream");
        response.Headers.GetValues("X-Content-Type-Options").Should().Equal("nosniff");
        response.Headers.CacheControl!.NoStore.Should().BeTrue();
        var disposition = response.Content.Headers.GetValues("Content-Disposition").Single();
        var match = System.Text.RegularExpressions.Regex.Match(disposition, "^attachment; filename=\"corescope-backup-([0-9]+)\\.db\"$");
        match.Success.Should().BeTrue(disposition);
        long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture).Should().BeInRange(before, before + 60);

        var body = await response.Content.ReadAsByteArrayAsync();
        response.Content.Headers.ContentLength.Should().Be(body.Length);
        Encoding.ASCII.GetString(body, 0, 16).Should().Be("SQLite format 3\0");

        var snapshotPath = Path.Combine(Workspace.DownloadDirectory, "backup.db");
        await File.WriteAllBytesAsync(snapshotPath, body);
        TestDatabase.IntegrityCheck(snapshotPath).Should().Be("ok");
        TestDatabase.SchemaObjects(snapshotPath).Should().BeEquivalentTo(TestDatabase.SchemaObjects(Workspace.DatabasePath));
        var counts = TestDatabase.RowCounts(snapshotPath);
        counts.Should().BeEquivalentTo(TestDatabase.RowCounts(Workspace.DatabasePath));
        counts["transmissions"].Should().Be(300);
        counts["observations"].Should().Be(600);
        response.Headers.GetValues("X-Backup-Rows-Transmissions").Should().Equal("300");
        response.Headers.GetValues("X-Backup-Rows-Observations").Should().Equal("600");
    }

    [TestCase("")]
    [TestCase("?method=pages")]
    public async Task Backup_AfterFullDownload_LeavesTempFolderEmpty(string query)
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 50);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var response = await client.GetAsync("/api/backup" + query);
        await response.Content.ReadAsByteArrayAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    [TestCase("vacuum")]
    [TestCase("pages")]
    public async Task Backup_WhileWriterCommits_IsOnePointInTimeAndWriterNeverFails(string method)
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 2_000, observationsEach: 3, payloadBytes: 120);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var stop = new CancellationTokenSource();
        var writerErrors = new List<Exception>();
        var commits = 0;
        var writer = Task.Run(() =>
        {
            // busy_timeout 0: if a snapshot ever blocked this writer, the commit would fail at once instead of waiting.
            using var connection = TestDatabase.Open(Workspace.DatabasePath);
            connection.Execute("PRAGMA busy_timeout = 0;");
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var transaction = connection.BeginTransaction();
                    TestDatabase.InsertTransmission(connection, transaction, observations: 3, payloadBytes: 120);
                    transaction.Commit();
                    Interlocked.Increment(ref commits);
                }
                catch (SQLiteException exception)
                {
                    lock (writerErrors)
                    {
                        writerErrors.Add(exception);
                    }
                }
            }
        });

        var snapshotCounts = new List<long>();
        for (var round = 0; round < 4; round++)
        {
            using var response = await client.GetAsync("/api/backup?method=" + method);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            response.Headers.GetValues("X-Backup-Method").Should().Equal(method);
            var path = Path.Combine(Workspace.DownloadDirectory, $"snapshot-{round}.db");
            await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());

            TestDatabase.IntegrityCheck(path).Should().Be("ok");
            using var snapshot = TestDatabase.Open(path, readOnly: true);
            snapshot.ExecuteScalar<long>(
                "SELECT COUNT(*) FROM transmissions t WHERE (SELECT COUNT(*) FROM observations o WHERE o.transmission_id = t.id) <> 3")
                .Should().Be(0, "a snapshot must never hold a transmission without all three of its observations");
            var transmissions = snapshot.ExecuteScalar<long>("SELECT COUNT(*) FROM transmissions");
            snapshot.ExecuteScalar<long>("SELECT COUNT(*) FROM observations").Should().Be(transmissions * 3);
            snapshotCounts.Add(transmissions);
        }

        await stop.CancelAsync();
        await writer;

        writerErrors.Should().BeEmpty();
        commits.Should().BeGreaterThan(0);
        snapshotCounts.Should().BeInAscendingOrder();
        snapshotCounts[^1].Should().BeGreaterThan(2_000, "the writer committed while the snapshots were taken");
    }

    [Test]
    public async Task Backup_PagesMethod_KeepsFreePages_VacuumDropsThem_DefaultFromConfiguration()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 2_000, payloadBytes: 200);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("DELETE FROM observations; DELETE FROM transmissions WHERE id % 2 = 0; PRAGMA wal_checkpoint(TRUNCATE);");
        }

        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey,
            new Dictionary<string, string?> { ["CoreScope:Backup:DefaultMethod"] = "Pages" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var pages = await client.GetAsync("/api/backup");
        using var vacuum = await client.GetAsync("/api/backup?method=vacuum");

        pages.Headers.GetValues("X-Backup-Method").Should().Equal("pages");
        var pagesBody = await pages.Content.ReadAsByteArrayAsync();
        var vacuumBody = await vacuum.Content.ReadAsByteArrayAsync();
        pagesBody.Length.Should().BeGreaterThan(vacuumBody.Length, "the page copy keeps the free pages VACUUM drops");
        pagesBody[18].Should().Be(2, "the page copy keeps the source's WAL header");
        vacuumBody[18].Should().Be(1, "VACUUM INTO writes a rollback-journal database");
        foreach (var (body, name) in new[] { (pagesBody, "pages.db"), (vacuumBody, "vacuum.db") })
        {
            var path = Path.Combine(Workspace.DownloadDirectory, name);
            await File.WriteAllBytesAsync(path, body);
            TestDatabase.IntegrityCheck(path).Should().Be("ok");
            TestDatabase.RowCounts(path)["transmissions"].Should().Be(1_000);
        }

        using var wrong = await client.GetAsync("/api/backup?method=copy");
        wrong.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ApiKeyTests.ErrorMemberAsync(wrong)).Should().Contain("method must be");
    }

    [Test]
    public async Task Backup_OfDamagedDatabase_Returns500AndLeavesNothingBehind()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 3_000, payloadBytes: 200);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);

        // Garbage over the pages after the schema's: the file still opens, but its tables cannot be read.
        await using (var file = new FileStream(Workspace.DatabasePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite))
        {
            var garbage = new byte[file.Length - 16 * 4096];
            new Random(7).NextBytes(garbage);
            file.Position = 16 * 4096;
            await file.WriteAsync(garbage);
        }

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await ApiKeyTests.ErrorMemberAsync(response)).Should().Contain("damaged");
        Workspace.BackupTempEntries().Should().BeEmpty();
        (await client.GetAsync("/api/openapi")).StatusCode.Should().Be(HttpStatusCode.OK, "the server goes on serving");
    }

    [Test]
    public async Task Backup_WritesOneAuditLinePerRequest_AndNeverTheKey()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 20);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var operatorClient = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        using var stranger = factory.CreateClient("a-guess-at-the-key-0123456789");

        var sent = await operatorClient.GetAsync("/api/backup");
        var body = await sent.Content.ReadAsByteArrayAsync();
        (await stranger.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await operatorClient.GetAsync("/api/backup?compress=zip")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);

        // The line is written when the response has completed, which may be a moment after the client has it.
        List<string> audit = [];
        for (var wait = 0; wait < 100 && audit.Count < 3; wait++, await Task.Delay(50))
        {
            audit = factory.Logs.Lines.Where(line => line.Message.StartsWith("Backup audit:", StringComparison.Ordinal))
                .Select(line => line.Message).ToList();
        }

        audit.Should().HaveCount(3);
        audit.Should().ContainSingle(line => line.Contains("outcome=sent") && line.Contains("status=200") && line.Contains($"bytes={body.Length}"))
            .Which.Should().MatchRegex("snapshotMs=[0-9]+ totalMs=[0-9]+");
        audit.Should().ContainSingle(line => line.Contains("outcome=denied") && line.Contains("status=401") && line.Contains("snapshotMs=-"));
        audit.Should().ContainSingle(line => line.Contains("outcome=failed") && line.Contains("status=400"));
        factory.Logs.Lines.Should().NotContain(line =>
            line.Message.Contains(CoreScopeApiFactory.StrongApiKey, StringComparison.Ordinal) ||
            line.Message.Contains("a-guess-at-the-key", StringComparison.Ordinal));
    }

    [Test]
    public async Task Start_RemovesSnapshotFoldersLeftByACrash_AndNothingElse()
    {
        var leftover = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "corescope-snapshot-0123abcd"));
        await File.WriteAllTextAsync(Path.Combine(leftover.FullName, "corescope.db"), "half a snapshot");
        var unrelated = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "someone-elses-folder"));

        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(key: null);
        await client.GetAsync("/api/openapi");

        Directory.Exists(leftover.FullName).Should().BeFalse();
        Directory.Exists(unrelated.FullName).Should().BeTrue();
    }
}
