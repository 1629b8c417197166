using System.Net.Http.Json;
using System.Text;

namespace CoreScope.Api.Tests.Packets;

/// <summary><c>POST /api/packets</c> and <c>POST /api/decode</c>: what is stored for a packet, and the 400s for a bad one.</summary>
public sealed class PacketIngestTests : WorkspaceTests
{
    private HttpClient _client = null!;
    private HttpClient _anonymous = null!;

    [SetUp]
    public void SetUp()
    {
        var server = CreateServer();
        _client = server.CreateOperatorClient();
        _anonymous = server.CreateClient(key: null);
    }

    [TearDown]
    public void TearDown()
    {
        _client.Dispose();
        _anonymous.Dispose();
    }

    [Test]
    public async Task Ingest_Advert_StoresTransmissionObservationObserverAndNode()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        using var response = await _client.PostAsJsonAsync("/api/packets", new
        {
            hex = SamplePackets.Advert.ToLowerInvariant(),
            observer = "OBSERVER-A",
            snr = 7.25,
            rssi = -98.0,
            region = "sjc",
        });

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = body.RootElement;
        root.GetProperty("hash").GetString().Should().Be("4df1ec064da2ac27");
        root.GetProperty("isNew").GetBoolean().Should().BeTrue();
        root.GetProperty("decoded").GetProperty("header").GetProperty("payloadTypeName").GetString().Should().Be("ADVERT");
        root.GetProperty("decoded").GetProperty("path").GetProperty("hops").GetArrayLength().Should().Be(5);
        root.GetProperty("decoded").GetProperty("payload").GetProperty("name").GetString().Should().Be("Kpa Roof Solar");
        var transmissionId = root.GetProperty("id").GetInt64();

        using var db = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        var transmission = db.QuerySingle("SELECT * FROM transmissions");
        ((long)transmission.id).Should().Be(transmissionId);
        ((string)transmission.raw_hex).Should().Be(SamplePackets.Advert);
        ((string)transmission.hash).Should().Be("4df1ec064da2ac27");
        ((string)transmission.first_seen).Should().MatchRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$");
        ((long)transmission.route_type).Should().Be(1);
        ((long)transmission.payload_type).Should().Be(4);
        ((string)transmission.decoded_json).Should().Contain("\"pubKey\":\"8a91f899").And.Contain("\"name\":\"Kpa Roof Solar\"");

        var observer = db.QuerySingle("SELECT rowid AS rid, * FROM observers");
        ((string)observer.id).Should().Be("OBSERVER-A");
        ((string)observer.iata).Should().Be("SJC");
        ((long)observer.packet_count).Should().Be(1);

        var observation = db.QuerySingle("SELECT * FROM observations");
        ((long)observation.id).Should().Be(root.GetProperty("observationId").GetInt64());
        ((long)observation.transmission_id).Should().Be(transmissionId);
        ((long)observation.observer_idx).Should().Be((long)observer.rid);
        ((string)observation.path_json).Should().Be("[\"1000\",\"D818\",\"206D\",\"3AAC\",\"152C\"]");
        ((double)observation.snr).Should().Be(7.25);
        ((double)observation.rssi).Should().Be(-98);
        ((long)observation.timestamp).Should().BeInRange(before, before + 60);

        var node = db.QuerySingle("SELECT * FROM nodes");
        ((string)node.public_key).Should().Be("8a91f89957e6d30ca51f36e28790228971c473b755f244f718754cf5ee4a2fd5");
        ((string)node.name).Should().Be("Kpa Roof Solar");
        ((string)node.role).Should().Be("repeater");
        ((double)node.lat).Should().BeApproximately(37.31468, 1e-9);
        ((double)node.lon).Should().BeApproximately(-121.8921, 1e-9);
        ((long)node.advert_count).Should().Be(1);
        ((string)node.last_seen).Should().Be((string)node.first_seen);
    }

    [Test]
    public async Task Ingest_SamePacketFromTwoObservers_IsOneTransmissionWithTwoObservations()
    {
        var first = await PostAsync(new { hex = SamplePackets.Advert, observer = "OBSERVER-A" });
        var second = await PostAsync(new { hex = SamplePackets.Advert, observer = "OBSERVER-B", snr = 1.5 });
        var repeat = await PostAsync(new { hex = SamplePackets.Advert, observer = "OBSERVER-B" });

        first.GetProperty("isNew").GetBoolean().Should().BeTrue();
        second.GetProperty("isNew").GetBoolean().Should().BeFalse();
        second.GetProperty("id").GetInt64().Should().Be(first.GetProperty("id").GetInt64());
        second.GetProperty("observationId").GetInt64().Should().NotBe(first.GetProperty("observationId").GetInt64());
        repeat.GetProperty("observationId").GetInt64().Should().Be(second.GetProperty("observationId").GetInt64(),
            "the same packet from the same observer over the same path is stored once");

        using var db = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        db.ExecuteScalar<long>("SELECT COUNT(*) FROM transmissions").Should().Be(1);
        db.ExecuteScalar<long>("SELECT COUNT(*) FROM observations").Should().Be(2);
        db.ExecuteScalar<long>("SELECT advert_count FROM nodes").Should().Be(1, "advert_count grows only with new transmissions");

        using var detail = JsonDocument.Parse(await _client.GetStringAsync($"/api/packets/{first.GetProperty("id").GetInt64()}"));
        detail.RootElement.GetProperty("observations").EnumerateArray()
            .Select(observation => observation.GetProperty("observerId").GetString())
            .Should().Equal("OBSERVER-A", "OBSERVER-B");
    }

    [Test]
    public async Task Ingest_TracePacket_StoresPayloadHopsAsPath()
    {
        await PostAsync(new { hex = SamplePackets.DirectTrace, observer = "OBSERVER-A" });

        using var db = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        db.ExecuteScalar<string>("SELECT path_json FROM observations").Should().Be("[\"67\",\"33\",\"D6\",\"33\",\"67\"]");
        db.ExecuteScalar<string>("SELECT hash FROM transmissions").Should().Be("af081a2c41281b1e");
    }

    [Test]
    public async Task Ingest_WithoutApiKey_Returns401AndStoresNothing()
    {
        using var response = await _anonymous.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert });

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(0);
    }

    private static readonly object[] MalformedBodies =
    [
        new object[] { "not json at all", "not valid JSON" },
        new object[] { "{\"hex\": ", "not valid JSON" },
        new object[] { "[1, 2, 3]", "not valid JSON" },
        new object[] { "{}", "hex is required" },
        new object[] { "{\"hex\": null}", "hex is required" },
        new object[] { "{\"hex\": \"\"}", "hex is required" },
        new object[] { "{\"hex\": 1234}", "hex has a value of the wrong type" },
        new object[] { "{\"hex\": \"0A00ZZ\"}", "not hexadecimal" },
        new object[] { "{\"hex\": \"0A00 D6\"}", "not hexadecimal" },
        new object[] { "{\"hex\": \"0A00D\"}", "odd number of digits" },
        new object[] { "{\"hex\": \"0A\"}", "path-length byte" },
        new object[] { "{\"hex\": \"14AABBCC\"}", "transport codes" },
        new object[] { "{\"hex\": \"17AABBCCDD\"}", "path-length byte" },
        new object[] { "{\"hex\": \"0A03AABB\"}", "Path runs past the end" },
        new object[] { "{\"hex\": \"0A41AA\"}", "Path runs past the end" },
        new object[] { "{\"hex\": \"0A00" + new string('A', 1100) + "\"}", "too large" },
        new object[] { "{\"hex\": \"0A00D69F\", \"snr\": \"loud\"}", "snr has a value of the wrong type" },
        new object[] { "{\"hex\": \"0A00D69F\", \"rssi\": [1]}", "rssi has a value of the wrong type" },
        new object[] { "{\"hex\": \"0A00D69F\", \"snr\": 1e400}", "snr must be a finite number" },
        new object[] { "{\"hex\": \"0A00D69F\", \"rssi\": -1e309}", "rssi must be a finite number" },
        new object[] { "{\"hex\": \"0A00D69F\", \"snr\": \"Infinity\"}", "snr must be a finite number" },
        new object[] { "{\"hex\": \"0A00D69F\", \"rssi\": \"-Infinity\"}", "rssi must be a finite number" },
        new object[] { "{\"hex\": \"0A00D69F\", \"snr\": \"NaN\"}", "snr must be a finite number" },
    ];

    [TestCaseSource(nameof(MalformedBodies))]
    public async Task Ingest_MalformedBody_Returns400WithReasonAndStoresNothing(string body, string reason)
    {
        await PostAsync(new { hex = SamplePackets.Advert, observer = "OBSERVER-A" });
        var before = TestDatabase.RowCounts(Workspace.DatabasePath);

        using var response = await _client.PostAsync("/api/packets", new StringContent(body, Encoding.UTF8, "application/json"));

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        (await response.ErrorMemberAsync()).Should().ContainEquivalentOf(reason);
        TestDatabase.RowCounts(Workspace.DatabasePath).Should().BeEquivalentTo(before);

        if (!reason.StartsWith("snr", StringComparison.Ordinal) && !reason.StartsWith("rssi", StringComparison.Ordinal))
        {
            // Decode reads only hex, so the signal fields cannot be wrong there.
            using var decode = await _client.PostAsync("/api/decode", new StringContent(body, Encoding.UTF8, "application/json"));
            decode.StatusCode.Should().Be(HttpStatusCode.BadRequest, "decode answers the same 400s");
            (await decode.ErrorMemberAsync()).Should().ContainEquivalentOf(reason);
        }
    }

    [Test]
    public async Task Read_OfAPacketWhoseStoredSignalIsInfinite_AnswersNullForIt()
    {
        // As another writer (or this server before it refused them) could have stored it.
        var id = (await PostAsync(new { hex = SamplePackets.Advert, observer = "OBSERVER-A", snr = 3.5, rssi = -90.0 })).GetProperty("id").GetInt64();
        using (var db = TestDatabase.Open(Workspace.DatabasePath))
        {
            db.Execute("UPDATE observations SET snr = 9e999, rssi = -9e999");
            db.Execute("UPDATE nodes SET lat = 9e999, temperature_c = -9e999");
        }

        using var packet = await _client.GetAsync($"/api/packets/{id}");
        using var nodes = await _client.GetAsync("/api/nodes");

        packet.StatusCode.Should().Be(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await packet.Content.ReadAsStringAsync());
        var observation = body.RootElement.GetProperty("observations")[0];
        observation.GetProperty("snr").ValueKind.Should().Be(JsonValueKind.Null);
        observation.GetProperty("rssi").ValueKind.Should().Be(JsonValueKind.Null);
        nodes.StatusCode.Should().Be(HttpStatusCode.OK);
        using var nodeList = JsonDocument.Parse(await nodes.Content.ReadAsStringAsync());
        var node = nodeList.RootElement.GetProperty("nodes")[0];
        node.GetProperty("lat").ValueKind.Should().Be(JsonValueKind.Null);
        node.GetProperty("lon").GetDouble().Should().BeApproximately(-121.8921, 1e-9, "finite values are untouched");
    }

    [Test]
    public async Task Decode_ReturnsDecodedPacketAndHash_AndStoresNothing()
    {
        using var response = await _anonymous.PostAsJsonAsync("/api/decode", new { hex = SamplePackets.FloodRequest });

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("hash").GetString().Should().Be("db884700fb37821d");
        body.RootElement.GetProperty("decoded").GetProperty("payload").GetProperty("destHash").GetString().Should().Be("8b");
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(0);
    }

    private async Task<JsonElement> PostAsync(object body)
    {
        using var response = await _client.PostAsJsonAsync("/api/packets", body);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.Clone();
    }
}
