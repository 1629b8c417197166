using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Security.Cryptography;
using CoreScope.Data.Packets;

namespace CoreScope.Api.Tests.Packets;

/// <summary>Many writers and running backups at once: the one writer means nobody sees "database is locked".</summary>
public sealed class ConcurrentIngestTests : WorkspaceTests
{
    [Test]
    [Category("Slow")]
    public async Task Ingest_2000PacketsFromEightClientsWhileBackupsRun_StoresEveryPacketAndEveryBackupIsConsistent()
    {
        const int clients = 8;
        const int packetsPerClient = 250;
        using var client = CreateServer().CreateOperatorClient();
        var failures = new ConcurrentBag<string>();
        var hashes = new ConcurrentBag<string>();

        var posting = Enumerable.Range(0, clients).Select(clientIndex => Task.Run(async () =>
        {
            for (var packet = 0; packet < packetsPerClient; packet++)
            {
                // A DIRECT TXT_MSG with a random body: every packet is a new transmission.
                var hex = "0A00" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
                using var response = await client.PostAsJsonAsync("/api/packets", new
                {
                    hex,
                    observer = $"OBSERVER-{clientIndex}",
                    snr = 5.0,
                    rssi = -100.0,
                });
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    failures.Add($"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                }
                else
                {
                    hashes.Add(PacketDecoder.Decode(hex).Hash);
                }
            }
        })).ToArray();

        var backups = 0;
        while (!posting.All(task => task.IsCompleted))
        {
            using var response = await client.GetAsync("/api/backup");
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var path = await SaveDownloadAsync(await response.Content.ReadAsByteArrayAsync(), $"backup-{backups++}.db");
            TestDatabase.IntegrityCheck(path).Should().Be("ok");
            using var snapshot = TestDatabase.Open(path, readOnly: true);
            snapshot.ExecuteScalar<long>("SELECT COUNT(*) FROM transmissions t WHERE NOT EXISTS (SELECT 1 FROM observations o WHERE o.transmission_id = t.id)")
                .Should().Be(0, "each ingest commits its transmission and observation together");
            snapshot.ExecuteScalar<long>("SELECT COUNT(*) FROM observations o WHERE NOT EXISTS (SELECT 1 FROM transmissions t WHERE t.id = o.transmission_id)")
                .Should().Be(0);
            snapshot.ExecuteScalar<long>("SELECT COALESCE(SUM(packet_count), 0) FROM observers")
                .Should().Be(snapshot.ExecuteScalar<long>("SELECT COUNT(*) FROM observations"));
        }

        await Task.WhenAll(posting);

        failures.Should().BeEmpty();
        backups.Should().BeGreaterThan(0);
        using var db = TestDatabase.Open(Workspace.DatabasePath, readOnly: true);
        db.Query<string>("SELECT hash FROM transmissions").Should().BeEquivalentTo(hashes);
        db.ExecuteScalar<long>("SELECT COUNT(*) FROM transmissions").Should().Be(clients * packetsPerClient);
        db.ExecuteScalar<long>("SELECT COUNT(*) FROM observations").Should().Be(clients * packetsPerClient);
        db.Query<long>("SELECT packet_count FROM observers").Should().AllBeEquivalentTo(packetsPerClient);
    }
}
