using CoreScope.Data.Store;

namespace CoreScope.Api.Tests.Backup;

/// <summary>The store's order of backups (docs/backup.md "Stored backups", <c>sequence</c>) on manifests read as the store reads them.</summary>
public sealed class StoreOrderTests
{
    private static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web);

    private static BackupManifest Manifest(string id, string createdAt, string? sequence) =>
        JsonSerializer.Deserialize<BackupManifest>(
            $$"""
            { "id": "{{id}}", "createdAt": "{{createdAt}}", "trigger": "schedule", "method": "vacuum", "compressed": false,
              "sizeBytes": 1, "sha256": "", "durationMs": 1, "serverVersion": "0", "schemaSteps": [], "rows": {},
              "fileName": "corescope-backup-{{id}}.db"{{(sequence is null ? "" : ", \"sequence\": " + sequence)}} }
            """, ManifestJson)!;

    [TestCase("0")]
    [TestCase("-3")]
    [TestCase("9007199254740992")]
    [TestCase("1e30")]
    [TestCase("1.5")]
    [TestCase("\"7\"")]
    [TestCase("{ \"value\": 7 }")]
    public void ASequenceTheStoreCouldNotHaveWritten_IsNone_AndTheManifestStillReads(string sequence)
    {
        var manifest = Manifest("20260101T030000Z-000001", "2026-01-01T03:00:00Z", sequence);

        manifest.Sequence.Should().BeNull();
        manifest.Id.Should().Be("20260101T030000Z-000001");
        JsonSerializer.Serialize(manifest, ManifestJson).Should().NotContain("sequence", "a manifest rewritten later carries no odd value on");
    }

    [Test]
    public void TheHighestExactJsonInteger_IsASequence_AndTheNextStaysThere()
    {
        Manifest("20260101T030000Z-000001", "2026-01-01T03:00:00Z", "9007199254740991").Sequence.Should().Be(StoreOrder.MaxSequence);
        StoreOrder.Next(StoreOrder.MaxSequence).Should().Be(StoreOrder.MaxSequence);
        StoreOrder.Next(0).Should().Be(1);
    }

    [Test]
    public void NewestFirst_BySequence_ThenManifestsWithoutOneByTheirFilesTime_CreatedAtLast()
    {
        var future = Manifest("20270101T000000Z-00000f", "2027-01-01T00:00:00Z", sequence: null);
        var older = Manifest("20260101T000000Z-00000a", "2026-01-01T00:00:00Z", sequence: null);
        var first = Manifest("20260105T000000Z-000001", "2026-01-05T00:00:00Z", "1");
        var second = Manifest("20260104T000000Z-000002", "2026-01-04T00:00:00Z", "2");
        var writtenAt = new Dictionary<string, DateTime>
        {
            [future.Id] = new(2026, 1, 2, 0, 0, 0, DateTimeKind.Utc),
            [older.Id] = new(2026, 1, 3, 0, 0, 0, DateTimeKind.Utc),
        };

        var order = StoreOrder.NewestFirst([future, older, first, second], manifest => manifest, manifest => writtenAt.GetValueOrDefault(manifest.Id));

        order.Select(manifest => manifest.Id).Should().Equal(second.Id, first.Id, older.Id, future.Id);
    }
}
