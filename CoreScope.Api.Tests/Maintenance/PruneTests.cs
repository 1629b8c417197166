namespace CoreScope.Api.Tests.Maintenance;

/// <summary><c>POST /api/admin/prune</c>: packets older than the days given or configured go, silent observers are marked.</summary>
public sealed class PruneTests : WorkspaceTests
{
    private static readonly int[] TransmissionAgesInDays = [1, 5, 9, 11, 40];

    [SetUp]
    public async Task SetUp()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        using var db = TestDatabase.Open(Workspace.DatabasePath);
        var now = DateTime.UtcNow;
        db.Execute("INSERT INTO observers (id, last_seen) VALUES ('FRESH', @fresh), ('SILENT', @silent)", new
        {
            fresh = TestDatabase.Iso(now.AddDays(-1)),
            silent = TestDatabase.Iso(now.AddDays(-20)),
        });

        // Transmissions aged 1, 5, 9, 11 and 40 days, each with two observations.
        foreach (var (age, index) in TransmissionAgesInDays.Select((age, index) => (age, index)))
        {
            var id = db.ExecuteScalar<long>(
                "INSERT INTO transmissions (raw_hex, hash, first_seen) VALUES ('00', @hash, @firstSeen); SELECT last_insert_rowid();",
                new { hash = $"hash{index}", firstSeen = TestDatabase.Iso(now.AddDays(-age)) });
            db.Execute("INSERT INTO observations (transmission_id, observer_idx, path_json, timestamp) VALUES (@id, 1, '[]', 0), (@id, 2, '[]', 0)", new { id });
        }
    }

    [Test]
    public async Task Prune_WithDays_DeletesExactlyTheOlderRowsAndMarksSilentObservers()
    {
        using var client = CreateServer().CreateOperatorClient();

        using var response = await client.PostAsync("/api/admin/prune?days=10", null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("packets_deleted").GetInt64().Should().Be(2);
        body.RootElement.GetProperty("deleted").GetInt64().Should().Be(2);
        body.RootElement.GetProperty("observers_inactive").GetInt64().Should().Be(1);
        body.RootElement.GetProperty("days").GetInt32().Should().Be(10);

        using var db = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        db.Query<string>("SELECT hash FROM transmissions ORDER BY hash").Should().Equal("hash0", "hash1", "hash2");
        db.ExecuteScalar<long>("SELECT COUNT(*) FROM observations").Should().Be(6);
        db.ExecuteScalar<long>("SELECT COUNT(*) FROM observations WHERE transmission_id NOT IN (SELECT id FROM transmissions)").Should().Be(0);
        db.Query<string>("SELECT id FROM observers WHERE inactive = 1").Should().Equal("SILENT");
    }

    [Test]
    public async Task Prune_WithoutDays_UsesConfiguredRetention()
    {
        using var client = CreateServer(("CoreScope:Retention:PacketDays", "7")).CreateOperatorClient();

        using var response = await client.PostAsync("/api/admin/prune", null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(2);
    }

    [TestCase("")]
    [TestCase("?days=0")]
    [TestCase("?days=-3")]
    [TestCase("?days=abc")]
    [TestCase("?days=1.5")]
    public async Task Prune_WithoutUsableDays_Returns400AndDeletesNothing(string query)
    {
        using var client = CreateServer().CreateOperatorClient();
        var before = TestDatabase.RowCounts(Workspace.DatabasePath);

        using var response = await client.PostAsync("/api/admin/prune" + query, null);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ErrorMemberAsync()).Should().Be("days parameter required (or set retention.packetDays in config)");
        TestDatabase.RowCounts(Workspace.DatabasePath).Should().BeEquivalentTo(before);
    }

    [TestCase("999999")]
    [TestCase("36501")]
    [TestCase("99999999999")]
    public async Task Prune_WithDaysBeyondTheConfiguredRange_Returns400AndDeletesNothing(string days)
    {
        using var client = CreateServer().CreateOperatorClient();
        var before = TestDatabase.RowCounts(Workspace.DatabasePath);

        using var response = await client.PostAsync("/api/admin/prune?days=" + days, null);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ErrorMemberAsync()).Should().Be(
            $"days must be between 1 and 36500 (the limits of CoreScope:Retention:PacketDays); {days} is out of range.");
        TestDatabase.RowCounts(Workspace.DatabasePath).Should().BeEquivalentTo(before);
    }

    [Test]
    public async Task Prune_WithTheLargestDays_Works()
    {
        using var client = CreateServer().CreateOperatorClient();

        using var response = await client.PostAsync("/api/admin/prune?days=36500", null);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(5);
    }

    [Test]
    public async Task Prune_WithoutApiKey_Returns401()
    {
        using var client = CreateServer().CreateClient(key: null);

        using var response = await client.PostAsync("/api/admin/prune?days=1", null);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(5);
    }
}
