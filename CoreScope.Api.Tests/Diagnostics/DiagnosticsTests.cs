namespace CoreScope.Api.Tests.Diagnostics;

/// <summary><c>/api/stats</c>, <c>/api/health</c> and <c>/api/perf</c>: what the server says about itself and its database.</summary>
public sealed class DiagnosticsTests : WorkspaceTests
{
    [Test]
    public async Task Stats_EqualSqlCounts()
    {
        await CreateDatabaseAsync(transmissions: 40, observationsEach: 3);
        using (var db = TestDatabase.Open(Workspace.DatabasePath))
        {
            db.Execute("UPDATE observations SET timestamp = timestamp - 7200 WHERE id % 2 = 0");
            db.Execute("UPDATE observations SET timestamp = timestamp - 200000 WHERE id % 3 = 0");
            db.Execute("UPDATE nodes SET last_seen = '2020-01-01T00:00:00.000Z', role = 'room' WHERE rowid <= 3");
            db.Execute("UPDATE nodes SET role = 'sensor' WHERE rowid = 4");
        }

        using var client = CreateServer().CreateClient(key: null);

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
    public async Task Perf_CountsRequestsPerRouteTemplate_AndResetClearsThem()
    {
        await CreateDatabaseAsync(transmissions: 3);
        var server = CreateServer();
        using var client = server.CreateOperatorClient();
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

        using var anonymous = server.CreateClient(key: null);
        (await anonymous.PostAsync("/api/perf/reset", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        using var reset = await client.PostAsync("/api/perf/reset", null);
        (await reset.Content.ReadAsStringAsync()).Should().Be("{\"ok\":true}");

        using var after = JsonDocument.Parse(await client.GetStringAsync("/api/perf"));
        after.RootElement.GetProperty("totalRequests").GetInt64().Should().Be(1, "only the reset itself was counted after the reset");
        after.RootElement.GetProperty("endpoints").EnumerateObject().Select(endpoint => endpoint.Name).Should().Equal("/api/perf/reset");
    }

    [Test]
    public async Task Health_IsOk_AndDown503WhenTheDatabaseCannotBeRead()
    {
        using var client = CreateServer().CreateClient(key: null);

        using var ok = await client.GetAsync("/api/health");
        ok.StatusCode.Should().Be(HttpStatusCode.OK);
        using (var body = JsonDocument.Parse(await ok.Content.ReadAsStringAsync()))
        {
            body.RootElement.GetProperty("status").GetString().Should().Be("ok");
            body.RootElement.GetProperty("engine").GetString().Should().Be("dotnet");
            body.RootElement.GetProperty("sqliteVersion").GetString().Should().Be("3.53.3", "the engine SQLitePCLRaw.lib.e_sqlite3 ships");
            body.RootElement.GetProperty("memory").GetProperty("rss").GetDouble().Should().BeGreaterThan(0);
            body.RootElement.GetProperty("perf").GetProperty("recentSlow").ValueKind.Should().Be(JsonValueKind.Array);
        }

        // The file goes missing under the running server (a volume unmounted, a restore half done).
        File.Move(Workspace.DatabasePath, Workspace.DatabasePath + ".moved");

        // "down", not "degraded": degraded is the 200 of a server whose backups are stale (BackupHealthTests).
        using var down = await client.GetAsync("/api/health");
        down.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        using var downBody = JsonDocument.Parse(await down.Content.ReadAsStringAsync());
        downBody.RootElement.GetProperty("status").GetString().Should().Be("down");
        downBody.RootElement.GetProperty("sqliteVersion").GetString().Should().Be("3.53.3", "the engine is known without the file");
    }

    [Test]
    public async Task HeadHealth_AnswersLikeGetWithoutABody_ForProbes()
    {
        // Kestrel, as a probe meets it: TestServer would pass the body of a HEAD response through.
        var server = CreateServer();
        server.StartKestrel();
        using var client = server.CreateClient(key: null);

        using var ok = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/health"));
        ok.StatusCode.Should().Be(HttpStatusCode.OK);
        (await ok.Content.ReadAsByteArrayAsync()).Should().BeEmpty();

        File.Move(Workspace.DatabasePath, Workspace.DatabasePath + ".moved");

        using var degraded = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/api/health"));
        degraded.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await degraded.Content.ReadAsByteArrayAsync()).Should().BeEmpty();
    }
}
