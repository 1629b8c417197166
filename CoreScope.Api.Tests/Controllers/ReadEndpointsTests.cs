using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CoreScope.Api.Tests.Infrastructure;
using CoreScope.Api.Tests.Packets;
using Dapper;
using FluentAssertions;
using NUnit.Framework;

namespace CoreScope.Api.Tests.Controllers;

public sealed class ReadEndpointsTests : WorkspaceTests
{
    [Test]
    public async Task Stats_EqualSqlCounts()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 40, observationsEach: 3);
        using (var db = TestDatabase.Open(Workspace.DatabasePath))
        {
            db.Execute("UPDATE observations SET timestamp = timestamp - 7200 WHERE id % 2 = 0");
            db.Execute("UPDATE observations SET timestamp = timestamp - 200000 WHERE id % 3 = 0");
            db.Execute("UPDATE nodes SET last_seen = '2020-01-01T00:00:00.000Z', role = 'room' WHERE rowid <= 3");
            db.Execute("UPDATE nodes SET role = 'sensor' WHERE rowid = 4");
        }

        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(key: null);

        using var stats = JsonDocument.Parse(await client.GetStringAsync("/api/stats"));

        var root = stats.RootElement;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using var check = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        root.GetProperty("totalPackets").GetInt64().Should().Be(120);
        root.GetProperty("totalObservations").GetInt64().Should().Be(120);
        root.GetProperty("totalTransmissions").GetInt64().Should().Be(40);
        root.GetProperty("totalNodes").GetInt64().Should().Be(7);
        root.GetProperty("totalNodesAllTime").GetInt64().Should().Be(10);
        root.GetProperty("totalObservers").GetInt64().Should().Be(3);
        root.GetProperty("packetsLastHour").GetInt64().Should().Be(check.ExecuteScalar<long>("SELECT COUNT(*) FROM observations WHERE timestamp >= @t", new { t = now - 3600 }));
        root.GetProperty("packetsLast24h").GetInt64().Should().Be(check.ExecuteScalar<long>("SELECT COUNT(*) FROM observations WHERE timestamp >= @t", new { t = now - 86400 }));
        root.GetProperty("packetsLastHour").GetInt64().Should().BeLessThan(root.GetProperty("packetsLast24h").GetInt64());
        root.GetProperty("engine").GetString().Should().Be("dotnet");
        root.GetProperty("version").GetString().Should().NotBeNullOrEmpty();
        root.GetProperty("commit").GetString().Should().NotBeNullOrEmpty();
        var counts = root.GetProperty("counts");
        counts.GetProperty("repeaters").GetInt64().Should().Be(6);
        counts.GetProperty("rooms").GetInt64().Should().Be(3);
        counts.GetProperty("sensors").GetInt64().Should().Be(1);
        counts.GetProperty("companions").GetInt64().Should().Be(0);
    }

    [Test]
    public async Task Packets_ListNewestFirstWithPagingAndCounts_AndDetail404()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 12, observationsEach: 2);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(key: null);

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
        (await ApiKeyTests.ErrorMemberAsync(missing)).Should().Contain("999");
    }

    [Test]
    public async Task Nodes_FilterByRoleAndGetByKey_Observers_List()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        (await client.PostAsJsonAsync("/api/packets", new { hex = PacketDecoderTests.AdvertHex, observer = "OBS-1", region = "SJC" }))
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
    public async Task Perf_CountsRequestsPerRouteTemplate_AndResetClearsThem()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 3);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await client.GetAsync("/api/packets/1");
        await client.GetAsync("/api/packets/2");
        await client.GetAsync("/api/packets/999");
        await client.GetAsync("/api/stats");

        using var perf = JsonDocument.Parse(await client.GetStringAsync("/api/perf"));

        var endpoints = perf.RootElement.GetProperty("endpoints");
        var detail = endpoints.GetProperty("/api/packets/{id}");
        detail.GetProperty("count").GetInt64().Should().Be(3);
        detail.GetProperty("p95Ms").GetDouble().Should().BeGreaterThanOrEqualTo(detail.GetProperty("p50Ms").GetDouble());
        detail.GetProperty("maxMs").GetDouble().Should().BeGreaterThanOrEqualTo(detail.GetProperty("p95Ms").GetDouble());
        endpoints.GetProperty("/api/stats").GetProperty("count").GetInt64().Should().Be(1);
        perf.RootElement.GetProperty("totalRequests").GetInt64().Should().Be(4);
        var sqlite = perf.RootElement.GetProperty("sqlite");
        sqlite.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(3);
        sqlite.GetProperty("dbSizeMB").GetDouble().Should().BeGreaterThan(0);

        using var anonymous = factory.CreateClient(key: null);
        (await anonymous.PostAsync("/api/perf/reset", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        using var reset = await client.PostAsync("/api/perf/reset", null);
        (await reset.Content.ReadAsStringAsync()).Should().Be("{\"ok\":true}");

        using var after = JsonDocument.Parse(await client.GetStringAsync("/api/perf"));
        after.RootElement.GetProperty("totalRequests").GetInt64().Should().Be(1, "only the reset itself was counted after the reset");
        after.RootElement.GetProperty("endpoints").EnumerateObject().Select(endpoint => endpoint.Name).Should().Equal("/api/perf/reset");
    }

    [Test]
    public async Task Health_IsOk_AndDegraded503WhenTheDatabaseCannotBeRead()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(key: null);

        using var ok = await client.GetAsync("/api/health");
        ok.StatusCode.Should().Be(HttpStatusCode.OK);
        using (var body = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()))
        {
            body.RootElement.GetProperty("status").GetString().Should().Be("ok");
            body.RootElement.GetProperty("engine").GetString().Should().Be("dotnet");
            body.RootElement.GetProperty("memory").GetProperty("rss").GetDouble().Should().BeGreaterThan(0);
            body.RootElement.GetProperty("perf").GetProperty("recentSlow").ValueKind.Should().Be(JsonValueKind.Array);
        }

        // The file goes missing under the running server (a volume unmounted, a restore half done).
        File.Move(Workspace.DatabasePath, Workspace.DatabasePath + ".moved");

        using var degraded = await client.GetAsync("/api/health");
        degraded.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        using var degradedBody = JsonDocument.Parse(await degraded.Content.ReadAsStringAsync());
        degradedBody.RootElement.GetProperty("status").GetString().Should().Be("degraded");
    }

    [Test]
    public async Task OriginalsFixture_ServesEveryReadEndpoint()
    {
        Workspace.UseOriginalsFixture();
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(key: null);

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
