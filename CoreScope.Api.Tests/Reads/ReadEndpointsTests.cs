using System.Net.Http.Json;

namespace CoreScope.Api.Tests.Reads;

/// <summary>The CoreScope read endpoints: packets, nodes and observers, on our own data and on the original's database.</summary>
public sealed class ReadEndpointsTests : WorkspaceTests
{
    [Test]
    public async Task Packets_ListNewestFirstWithPagingAndCounts_AndDetail404()
    {
        await CreateDatabaseAsync(transmissions: 12, observationsEach: 2);
        using var client = CreateServer().CreateClient(key: null);

        using var page = JsonDocument.Parse(await client.GetStringAsync("/api/packets?limit=5&offset=2"));
        page.RootElement.GetProperty("total").GetInt64().Should().Be(12);
        var packets = page.RootElement.GetProperty("packets").EnumerateArray().ToList();
        packets.Select(packet => packet.GetProperty("id").GetInt64()).Should().Equal(10, 9, 8, 7, 6);
        packets.Should().AllSatisfy(packet => packet.GetProperty("observationCount").GetInt64().Should().Be(2));

        using var capped = JsonDocument.Parse(await client.GetStringAsync("/api/packets?limit=100000"));
        capped.RootElement.GetProperty("limit").GetInt32().Should().Be(500);
        using var defaults = JsonDocument.Parse(await client.GetStringAsync("/api/packets"));
        defaults.RootElement.GetProperty("limit").GetInt32().Should().Be(50);

        (await client.GetAsync("/api/packets?limit=0")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await client.GetAsync("/api/packets?offset=-1")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        using var missing = await client.GetAsync("/api/packets/999");
        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await missing.ErrorMemberAsync()).Should().Contain("999");
    }

    [TestCase("/api/packets?limit=0x10", "limit must be a whole number")]
    [TestCase("/api/packets?offset=0x10", "offset must be a whole number")]
    [TestCase("/api/packets?limit=%2310", "limit must be a whole number")]
    [TestCase("/api/packets?limit=1e2", "limit must be a whole number")]
    [TestCase("/api/packets?limit=%2016", "limit must be a whole number")]
    [TestCase("/api/nodes?limit=0x10", "limit must be a whole number")]
    [TestCase("/api/nodes?offset=-1", "offset must be 0 or more")]
    [TestCase("/api/packets?limit=-99999999999", "limit must be between 1 and 500")]
    [TestCase("/api/nodes?role=bogus", "role must be one of repeater, room, companion, sensor")]
    [TestCase("/api/nodes?role=repeaters", "\"repeaters\" is not a node role")]
    public async Task List_WithAQueryValueItCannotUse_Returns400SayingWhy(string path, string reason)
    {
        await CreateDatabaseAsync(transmissions: 20);
        using var client = CreateServer().CreateClient(key: null);

        using var response = await client.GetAsync(path);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ErrorMemberAsync()).Should().Contain(reason);
    }

    [Test]
    public async Task List_WithLargeNumbersAndRoleInAnyCase_Works()
    {
        await CreateDatabaseAsync(transmissions: 20);
        using var client = CreateServer().CreateClient(key: null);

        using var capped = JsonDocument.Parse(await client.GetStringAsync("/api/packets?limit=99999999999&offset=0"));
        using var repeaters = JsonDocument.Parse(await client.GetStringAsync("/api/nodes?role=REPEATER&limit=16"));

        capped.RootElement.GetProperty("limit").GetInt32().Should().Be(500);
        capped.RootElement.GetProperty("packets").GetArrayLength().Should().Be(20);
        repeaters.RootElement.GetProperty("total").GetInt64().Should().Be(10, "the populated nodes are repeaters");
        repeaters.RootElement.GetProperty("limit").GetInt32().Should().Be(16);
    }

    [Test]
    public async Task Nodes_FilterByRoleAndGetByKey_Observers_List()
    {
        using var client = CreateServer().CreateOperatorClient();
        (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert, observer = "OBS-1", region = "SJC" }))
            .StatusCode.Should().Be(HttpStatusCode.OK);

        using var repeaters = JsonDocument.Parse(await client.GetStringAsync("/api/nodes?role=repeater"));
        repeaters.RootElement.GetProperty("total").GetInt64().Should().Be(1);
        using var rooms = JsonDocument.Parse(await client.GetStringAsync("/api/nodes?role=room"));
        rooms.RootElement.GetProperty("nodes").GetArrayLength().Should().Be(0);

        using var node = JsonDocument.Parse(await client.GetStringAsync("/api/nodes/8A91F89957E6D30CA51F36E28790228971C473B755F244F718754CF5EE4A2FD5"));
        node.RootElement.GetProperty("name").GetString().Should().Be("Kpa Roof Solar");
        node.RootElement.GetProperty("advertCount").GetInt64().Should().Be(1);
        (await client.GetAsync("/api/nodes/ffff")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        using var observers = JsonDocument.Parse(await client.GetStringAsync("/api/observers"));
        var observer = observers.RootElement.GetProperty("observers").EnumerateArray().Single();
        observer.GetProperty("id").GetString().Should().Be("OBS-1");
        observer.GetProperty("iata").GetString().Should().Be("SJC");
        observer.GetProperty("packetCount").GetInt64().Should().Be(1);
    }

    [Test]
    public async Task OriginalsFixture_ServesEveryReadEndpoint()
    {
        Workspace.UseOriginalsFixture();
        using var client = CreateServer().CreateClient(key: null);

        using var stats = JsonDocument.Parse(await client.GetStringAsync("/api/stats"));
        stats.RootElement.GetProperty("totalTransmissions").GetInt64().Should().Be(499);
        stats.RootElement.GetProperty("totalObservations").GetInt64().Should().Be(500);
        stats.RootElement.GetProperty("totalNodesAllTime").GetInt64().Should().Be(200);
        stats.RootElement.GetProperty("totalObservers").GetInt64().Should().Be(31);

        using var packets = JsonDocument.Parse(await client.GetStringAsync("/api/packets?limit=500"));
        packets.RootElement.GetProperty("packets").GetArrayLength().Should().Be(499);
        var id = packets.RootElement.GetProperty("packets")[0].GetProperty("id").GetInt64();

        using var detail = JsonDocument.Parse(await client.GetStringAsync($"/api/packets/{id}"));
        var observation = detail.RootElement.GetProperty("observations")[0];
        observation.GetProperty("observerId").GetString().Should().NotBeNullOrEmpty("the fixture's text observer ids still name the observer");

        using var nodes = JsonDocument.Parse(await client.GetStringAsync("/api/nodes?limit=500"));
        nodes.RootElement.GetProperty("total").GetInt64().Should().Be(200);
        var key = nodes.RootElement.GetProperty("nodes")[0].GetProperty("publicKey").GetString();
        (await client.GetAsync($"/api/nodes/{key}")).StatusCode.Should().Be(HttpStatusCode.OK);

        using var observers = JsonDocument.Parse(await client.GetStringAsync("/api/observers"));
        observers.RootElement.GetProperty("observers").GetArrayLength().Should().Be(31);
        (await client.GetAsync("/api/health")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetAsync("/api/perf")).StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
