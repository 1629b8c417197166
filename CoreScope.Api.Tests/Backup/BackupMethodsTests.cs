using System.Data.SQLite;

namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/backup.md, "Two snapshot methods": <c>vacuum</c> and <c>pages</c>, both one point in time under writers.</summary>
public sealed class BackupMethodsTests : WorkspaceTests
{
    [TestCase("vacuum")]
    [TestCase("pages")]
    public async Task Backup_WhileWriterCommits_IsOnePointInTimeAndWriterNeverFails(string method)
    {
        await CreateDatabaseAsync(transmissions: 2_000, observationsEach: 3, payloadBytes: 120);
        using var client = CreateServer().CreateOperatorClient();

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
            var path = await SaveDownloadAsync(await response.Content.ReadAsByteArrayAsync(), $"snapshot-{round}.db");

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
        await CreateDatabaseAsync(transmissions: 2_000, payloadBytes: 200);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("DELETE FROM observations; DELETE FROM transmissions WHERE id % 2 = 0; PRAGMA wal_checkpoint(TRUNCATE);");
        }

        using var client = CreateServer(("CoreScope:Backup:DefaultMethod", "Pages")).CreateOperatorClient();

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
            var path = await SaveDownloadAsync(body, name);
            TestDatabase.IntegrityCheck(path).Should().Be("ok");
            TestDatabase.RowCounts(path)["transmissions"].Should().Be(1_000);
        }

        using var wrong = await client.GetAsync("/api/backup?method=copy");
        wrong.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await wrong.ErrorMemberAsync()).Should().Contain("method must be");
    }

    [TestCase("1")]
    [TestCase("0")]
    [TestCase("Pages,Vacuum")]
    [TestCase("%20pages")]
    [TestCase("vacuum%20")]
    public async Task Backup_WithAMethodThatIsNotOneOfTheNames_Returns400AndMakesNoSnapshot(string method)
    {
        await CreateDatabaseAsync(transmissions: 10);
        using var client = CreateServer().CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup?method=" + method);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ErrorMemberAsync()).Should().Contain("method must be \"vacuum\" or \"pages\"");
        Workspace.BackupTempEntries().Should().BeEmpty();
    }
}
