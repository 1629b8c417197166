using CoreScope.Data.Schema;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoreScope.Api.Tests.Data;

/// <summary>The schema steps: a new database on first start, the same steps again, and the original's database upgraded in place.</summary>
public sealed class SchemaMigratorTests : WorkspaceTests
{
    private static readonly string[] ExpectedObjects =
    [
        "table _migrations", "table dropped_packets", "table inactive_nodes", "table nodes", "table observations",
        "table observer_metrics", "table observers", "table transmissions", "view packets_v",
        "index idx_nodes_last_seen", "index idx_observers_last_seen", "index idx_transmissions_hash",
        "index idx_transmissions_first_seen", "index idx_transmissions_payload_type", "index idx_tx_channel_hash",
        "index idx_observations_transmission_id", "index idx_observations_observer_idx",
        "index idx_observations_timestamp", "index idx_observations_dedup",
    ];

    [Test]
    public async Task FirstStart_CreatesFolderFileAndSchemaInWalMode()
    {
        using var client = CreateServer().CreateClient(key: null);
        (await client.GetAsync("/api/openapi")).StatusCode.Should().Be(HttpStatusCode.OK);

        File.Exists(Workspace.DatabasePath).Should().BeTrue();
        TestDatabase.SchemaObjects(Workspace.DatabasePath).Should().Contain(ExpectedObjects);
        using var connection = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        connection.ExecuteScalar<string>("PRAGMA journal_mode").Should().Be("wal");
        connection.Query<string>("SELECT name FROM _migrations").Should()
            .BeEquivalentTo(new SchemaMigrator(NullLogger<SchemaMigrator>.Instance).StepNames);
    }

    [Test]
    public async Task Apply_Twice_ChangesNothingTheSecondTime()
    {
        await CreateDatabaseAsync(transmissions: 10);
        var objects = TestDatabase.SchemaObjects(Workspace.DatabasePath);
        var counts = TestDatabase.RowCounts(Workspace.DatabasePath);

        await TestDatabase.CreateAsync(Workspace.DatabasePath);

        TestDatabase.SchemaObjects(Workspace.DatabasePath).Should().Equal(objects);
        TestDatabase.RowCounts(Workspace.DatabasePath).Should().BeEquivalentTo(counts);
    }

    [Test]
    public async Task Apply_ToOriginalsFixture_AddsWhatIsMissingAndKeepsEveryRow()
    {
        Workspace.UseOriginalsFixture();
        var before = TestDatabase.RowCounts(Workspace.DatabasePath);
        before["transmissions"].Should().Be(499);

        await TestDatabase.CreateAsync(Workspace.DatabasePath);

        var after = TestDatabase.RowCounts(Workspace.DatabasePath);
        foreach (var (table, count) in before)
        {
            after[table].Should().Be(count, $"{table} keeps every row");
        }

        // The fixture holds one pair of duplicate observations (transmission 85): both stay, so the unique index waits.
        TestDatabase.SchemaObjects(Workspace.DatabasePath).Should()
            .Contain(ExpectedObjects.Where(name => name != "index idx_observations_dedup"))
            .And.NotContain("index idx_observations_dedup");
        using var connection = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        connection.Query<string>("SELECT name FROM pragma_table_info('observers')").Should().Contain("inactive");
        connection.Query<string>("SELECT name FROM pragma_table_info('observations')").Should().Contain("raw_hex");
        connection.ExecuteScalar<long>("SELECT COUNT(*) FROM packets_v").Should().Be(500);
        TestDatabase.IntegrityCheck(Workspace.DatabasePath).Should().Be("ok");
    }

    [Test]
    public async Task Apply_WithDuplicateObservations_KeepsThemAndSkipsTheUniqueIndex()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Workspace.DatabasePath)!);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("""
                CREATE TABLE transmissions (id INTEGER PRIMARY KEY AUTOINCREMENT, raw_hex TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, first_seen TEXT NOT NULL);
                CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, transmission_id INTEGER NOT NULL, observer_idx INTEGER, path_json TEXT, timestamp INTEGER NOT NULL);
                INSERT INTO transmissions (raw_hex, hash, first_seen) VALUES ('00', 'h', '2026-01-01T00:00:00Z');
                INSERT INTO observations (transmission_id, observer_idx, path_json, timestamp) VALUES (1, 1, '[]', 1), (1, 1, '[]', 2);
                """);
        }

        await TestDatabase.CreateAsync(Workspace.DatabasePath);

        TestDatabase.RowCounts(Workspace.DatabasePath)["observations"].Should().Be(2);
        TestDatabase.SchemaObjects(Workspace.DatabasePath).Should().NotContain("index idx_observations_dedup");
    }
}
