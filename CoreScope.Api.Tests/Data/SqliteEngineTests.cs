using System.Data.SQLite;
using System.Diagnostics;
using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using Microsoft.Extensions.Hosting.Internal;

namespace CoreScope.Api.Tests.Data;

/// <summary>
/// The SQLite engine under System.Data.SQLite 2.0 (e_sqlite3 3.53.3) and where its build differs from 1.0's engine
/// (3.46.1): each difference the server meets is pinned by the connection factory and shown here
/// (docs/backup.md, "Decisions: System.Data.SQLite 2.0").
/// </summary>
public sealed class SqliteEngineTests : WorkspaceTests
{
    private SqliteConnectionFactory CreateFactory(int busyTimeoutMs = 10_000)
    {
        var options = Microsoft.Extensions.Options.Options.Create(new DatabaseOptions { Path = Workspace.DatabasePath, BusyTimeoutMs = busyTimeoutMs });
        return new SqliteConnectionFactory(new DatabaseLocation(options, new HostingEnvironment { ContentRootPath = Workspace.Root }), options);
    }

    [Test]
    public async Task Engine_IsTheBundledSqlite_3_53_3()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        await using var connection = await CreateFactory().OpenReadOnlyAsync(CancellationToken.None);

        SqliteConnectionFactory.EngineVersion.Should().Be("3.53.3");
        connection.ExecuteScalar<string>("SELECT sqlite_version()").Should().Be("3.53.3");
    }

    [Test]
    public async Task ForeignKeys_AreOnInTheEnginesBuild_ButOffOnTheServersConnections_AsUnderTheOldEngine()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        const string orphan = "INSERT INTO observations (transmission_id, observer_idx, timestamp) VALUES (424242, 1, 0)";
        using (var plain = TestDatabase.Open(Workspace.DatabasePath))
        {
            plain.ExecuteScalar<long>("PRAGMA foreign_keys").Should().Be(1, "e_sqlite3 is built with SQLITE_DEFAULT_FOREIGN_KEYS");
            var enforced = () => plain.Execute(orphan);
            enforced.Should().Throw<SQLiteException>().Which.ResultCode.Should().Be(SQLiteErrorCode.Constraint);
        }

        var factory = CreateFactory();
        await using var readOnly = await factory.OpenReadOnlyAsync(CancellationToken.None);
        await using var readWrite = await factory.OpenFileAsync(Workspace.DatabasePath, readOnly: false, CancellationToken.None);

        readOnly.ExecuteScalar<long>("PRAGMA foreign_keys").Should().Be(0);
        readWrite.ExecuteScalar<long>("PRAGMA foreign_keys").Should().Be(0);
        readWrite.Execute(orphan).Should().Be(1, "the server's writer behaves as it did on the old engine");
    }

    [Test]
    public async Task DoubleQuotedLiterals_FailInTheEnginesBuild_ButLegacyFilesAreStillReadAndBackedUp()
    {
        await CreateDatabaseAsync(transmissions: 50);
        using (var legacyTool = TestDatabase.Open(Workspace.DatabasePath))
        {
            // What an older tool (the sqlite3 CLI, 1.0's engine) could write: "…" as a string in a partial index and a view.
            legacyTool.SetConfigurationOption(SQLiteConfigDbOpsEnum.SQLITE_DBCONFIG_DQS_DDL, true);
            legacyTool.Execute("""
                CREATE INDEX idx_legacy_route ON transmissions(route_type) WHERE raw_hex <> "";
                CREATE VIEW legacy_labels AS SELECT id, "legacy" AS label FROM transmissions;
                """);
        }

        using (var plain = TestDatabase.Open(Workspace.DatabasePath, readOnly: true))
        {
            var vacuum = () => plain.Execute("VACUUM INTO @path", new { path = Path.Combine(Workspace.DownloadDirectory, "plain.db") });
            vacuum.Should().Throw<SQLiteException>().WithMessage("*should this be a string literal in single-quotes*");
            var view = () => plain.ExecuteScalar<string>("SELECT label FROM legacy_labels LIMIT 1");
            view.Should().Throw<SQLiteException>();
        }

        await using (var connection = await CreateFactory().OpenReadOnlyAsync(CancellationToken.None))
        {
            connection.ExecuteScalar<string>("SELECT label FROM legacy_labels LIMIT 1").Should().Be("legacy");
        }

        using var client = CreateServer().CreateClient(CoreScopeApiFactory.StrongApiKey);
        foreach (var method in new[] { "vacuum", "pages" })
        {
            using var response = await client.GetAsync("/api/backup?method=" + method);
            response.StatusCode.Should().Be(HttpStatusCode.OK, method);
            var path = await SaveDownloadAsync(await response.Content.ReadAsByteArrayAsync(), method + ".db");
            TestDatabase.IntegrityCheck(path).Should().Be("ok");
            TestDatabase.SchemaObjects(path).Should().Contain(["index idx_legacy_route", "view legacy_labels"]);
            TestDatabase.RowCounts(path)["transmissions"].Should().Be(50);
        }
    }

    [Test]
    public async Task ReadOnlyConnection_RefusesWrites_AndAMissingFileIsNotCreated()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        var factory = CreateFactory();
        await using var connection = await factory.OpenReadOnlyAsync(CancellationToken.None);

        var write = () => connection.Execute("DELETE FROM transmissions");
        write.Should().Throw<SQLiteException>().Which.ResultCode.Should().Be(SQLiteErrorCode.ReadOnly);

        var missing = Path.Combine(Workspace.Root, "missing.db");
        var open = () => factory.OpenFileAsync(missing, readOnly: true, CancellationToken.None);
        (await open.Should().ThrowAsync<SQLiteException>()).Which.ResultCode.Should().Be(SQLiteErrorCode.CantOpen);
        File.Exists(missing).Should().BeFalse();
    }

    [Test]
    public async Task BusyTimeout_WaitsForAnotherProcessesWriteLock_ThenWrites()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        await using var connection = await CreateFactory(busyTimeoutMs: 5_000).OpenFileAsync(Workspace.DatabasePath, readOnly: false, CancellationToken.None);
        connection.ExecuteScalar<long>("PRAGMA busy_timeout").Should().Be(5_000);

        using var other = TestDatabase.Open(Workspace.DatabasePath);
        other.Execute("BEGIN IMMEDIATE; INSERT INTO observers (id, name) VALUES ('HOLDER', 'holds the lock');");
        var release = Task.Run(async () =>
        {
            await Task.Delay(400);
            other.Execute("COMMIT;");
        });

        var waited = Stopwatch.StartNew();
        connection.Execute("INSERT INTO observers (id, name) VALUES ('WAITER', 'waits for it')").Should().Be(1);
        waited.Elapsed.Should().BeGreaterThan(TimeSpan.FromMilliseconds(300), "the insert waited for the other writer's commit");
        await release;
        connection.ExecuteScalar<long>("SELECT COUNT(*) FROM observers WHERE id IN ('HOLDER', 'WAITER')").Should().Be(2);
    }

    [Test]
    [Category("Slow")]
    public async Task CancelledSnapshot_InterruptsVacuumInto_AndLeavesNothing()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        using (var filler = TestDatabase.Open(Workspace.DatabasePath))
        {
            // ~150 MB in a second or two, written by SQLite itself: VACUUM INTO then runs long enough to be caught.
            filler.Execute("""
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 120000)
                INSERT INTO transmissions (raw_hex, hash, first_seen, route_type, payload_type, payload_version, decoded_json)
                SELECT hex(randomblob(600)), hex(randomblob(8)), '2026-01-01T00:00:00.000Z', 1, 2, 0, '{}' FROM n;
                """);
        }

        var service = (BackupService)CreateServer().Services.GetService(typeof(BackupService))!;

        // VACUUM INTO writes its file once its page cache (8 MB) fills, a few percent into this ~150 MB copy: a cancel
        // as soon as the file has bytes lands inside it, and sqlite3_interrupt must stop it there. On two busy cores
        // the cancel can still land after VACUUM INTO (then a later check of the token stops the snapshot, or it is
        // done): such a try proves nothing and is made again.
        for (var attempt = 1; ; attempt++)
        {
            attempt.Should().BeLessThanOrEqualTo(10, "a cancel in the middle of VACUUM INTO must interrupt it");
            using var cancel = new CancellationTokenSource();

            // Off the test's thread: the provider runs VACUUM INTO synchronously inside the async call.
            var snapshot = Task.Run(() => service.CreateSnapshotAsync(new SnapshotRequest(Method: SnapshotMethod.Vacuum), cancel.Token));
            while (!snapshot.IsCompleted && !Directory.EnumerateFiles(Workspace.BackupTempDirectory, "corescope.db", SearchOption.AllDirectories)
                       .Any(file => new FileInfo(file).Length > 0))
            {
                await Task.Delay(1);
            }

            await cancel.CancelAsync();
            try
            {
                await (await snapshot).DisposeAsync();
            }
            catch (OperationCanceledException cancelled) when (cancelled.InnerException is SQLiteException { ResultCode: SQLiteErrorCode.Interrupt })
            {
                break;
            }
            catch (OperationCanceledException)
            {
            }

            await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
        }

        Workspace.BackupTempEntries().Should().BeEmpty();
    }

    [Test]
    public void DiskFull_AsThisEngineReportsIt_IsInsufficientStorage()
    {
        // A page limit gives the same SQLITE_FULL a full disk does, from the real engine rather than a constructed exception.
        using var connection = TestDatabase.Open(Path.Combine(Workspace.Root, "small.db"));
        connection.Execute("CREATE TABLE filler (data BLOB); PRAGMA max_page_count = 8;");
        var fill = () =>
        {
            for (var row = 0; row < 100; row++)
            {
                connection.Execute("INSERT INTO filler VALUES (randomblob(2000))");
            }
        };
        var full = fill.Should().Throw<SQLiteException>().Which;
        full.ResultCode.Should().Be(SQLiteErrorCode.Full, "the primary code, not an extended one");

        var failure = SnapshotFailures.Classify(full, Workspace.BackupTempDirectory);

        failure.Failure.Should().Be(BackupFailure.InsufficientStorage);
    }
}
