using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CoreScope.Api.Tests.Backup;
using CoreScope.Api.Tests.Restore;
using CoreScope.Data.Offsite.Signing;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// docs/offsite.md "Signed manifests": what someone who can write the bucket puts there is never restored from and
/// never chooses what retention deletes; every key a manifest names is its own backup's name under the prefix.
/// </summary>
[Category("Slow")]
public sealed class OffsiteManifestTests : WorkspaceTests
{
    /// <summary>A known HMAC key, so the test can sign a manifest as the box would: it proves confinement, not only the signature.</summary>
    private static readonly byte[] SigningKey = Enumerable.Range(1, 32).Select(value => (byte)value).ToArray();

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task Retention_NeverDeletesAKeyOutsideThePrefix_EvenByASignedManifest(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        var settings = target.Settings();
        settings["CoreScope:Offsite:Retention:KeepLast"] = "1";
        settings[OffsiteSigningOptions.KeySetting] = Convert.ToBase64String(SigningKey);
        await CreateDatabaseAsync(20);
        var server = CreateServer([.. settings.Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var first = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, first.Id(), targetName);

        // Planted: an object elsewhere in the bucket, and an old backup's manifest, signed with the box's own key,
        // whose copy is that object. Retention would pick the old backup to remove.
        const string Precious = "elsewhere/precious.db";
        await target.WriteAsync(Precious, "not a backup, and not the server's to delete"u8.ToArray());
        const string PlantedId = "20200101T000000Z-abcdef";
        var manifest = JsonNode.Parse(await target.ReadAsync($"corescope/corescope-backup-{first.Id()}.json"))!;
        manifest["id"] = PlantedId;
        manifest["fileName"] = $"corescope-backup-{PlantedId}.db";
        manifest["createdAt"] = "2020-01-01T00:00:00Z";
        manifest["offsite"]![0]!["key"] = Precious;
        var plantedKey = $"corescope/corescope-backup-{PlantedId}.json";
        var bytes = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        await target.WriteAsync(plantedKey + ".sig", HmacSignature(bytes));
        await target.WriteAsync(plantedKey, bytes);

        await Task.Delay(1_100);
        var second = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, second.Id(), targetName);
        await Eventually.TrueAsync(async () => !await target.HoldsAsync($"corescope/corescope-backup-{first.Id()}.db"), "retention to remove the first backup", 30_000);

        (await target.HoldsAsync(Precious)).Should().BeTrue("a manifest's key outside the prefix is never deleted through");
        (await target.HoldsAsync(plantedKey)).Should().BeTrue("retention does not act on a manifest it does not trust");
        var listing = await ListingAsync(client);
        listing.GetProperty("backups").EnumerateArray().Select(backup => backup.GetProperty("manifest").Id()).Should().Equal(second.Id());
        var refused = listing.GetProperty("refused").EnumerateArray().Should().ContainSingle().Subject;
        refused.GetProperty("manifest").GetString().Should().Be(plantedKey);
        refused.GetProperty("reason").GetString().Should().Contain(Precious).And.Contain($"corescope/corescope-backup-{PlantedId}.db");
        server.Logs.Lines.Should().Contain(line => line.Message.StartsWith($"Offsite retention on {targetName} leaves alone 1 manifests", StringComparison.Ordinal));
    }

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task RestoreWithOffsite_OfABackupPlantedInTheBucket_Is422_AndChangesNothing(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(40);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var real = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, real.Id(), targetName);

        // Planted: a whole backup, object and manifest with its true SHA-256, that restores cleanly but for the signature.
        // First with none, then with the real manifest's signature beside it.
        const string PlantedId = "20990101T000000Z-fedcba";
        var plantedObject = $"corescope/corescope-backup-{PlantedId}.db";
        var plantedManifest = $"corescope/corescope-backup-{PlantedId}.json";
        await target.WriteAsync(plantedObject, await target.ReadAsync($"corescope/corescope-backup-{real.Id()}.db"));
        var manifest = JsonNode.Parse(await target.ReadAsync($"corescope/corescope-backup-{real.Id()}.json"))!;
        manifest["id"] = PlantedId;
        manifest["fileName"] = $"corescope-backup-{PlantedId}.db";
        manifest["offsite"]![0]!["key"] = plantedObject;
        await target.WriteAsync(plantedManifest, Encoding.UTF8.GetBytes(manifest.ToJsonString()));
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 25);
        var before = DatabaseContent.Read(Workspace.DatabasePath);
        var source = Uri.EscapeDataString(targetName + ":" + plantedObject);

        using var unsigned = await client.PostAsync("/api/admin/restore?offsite=" + source, null);

        var body = await unsigned.Content.ReadAsStringAsync();
        unsigned.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, body);
        JsonDocument.Parse(body).RootElement.GetProperty("error").GetString().Should().Contain(plantedManifest).And.Contain("no signature");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
        var listing = await ListingAsync(client);
        listing.GetProperty("backups").EnumerateArray().Select(backup => backup.GetProperty("manifest").Id()).Should().Equal(real.Id());
        listing.GetProperty("refused").EnumerateArray().Should().ContainSingle().Which.GetProperty("manifest").GetString().Should().Be(plantedManifest);

        await target.WriteAsync(plantedManifest + ".sig", await target.ReadAsync($"corescope/corescope-backup-{real.Id()}.json.sig"));
        using var otherSignature = await client.PostAsync("/api/admin/restore?offsite=" + source, null);

        body = await otherSignature.Content.ReadAsStringAsync();
        otherSignature.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, body);
        JsonDocument.Parse(body).RootElement.GetProperty("error").GetString().Should().Contain("does not match");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    /// <summary>The one target's entry of <c>GET /api/offsite/backups</c>.</summary>
    internal static async Task<JsonElement> ListingAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/offsite/backups");
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("targets").EnumerateArray().Should().ContainSingle().Subject.Clone();
    }

    // As the server writes it (docs/offsite.md "Signed manifests"): scheme, the key's fingerprint, the MAC in hex.
    private static byte[] HmacSignature(byte[] manifest) => Encoding.ASCII.GetBytes(
        $"hmac-sha256 key={Convert.ToHexStringLower(SHA256.HashData(SigningKey).AsSpan(0, 8))} {Convert.ToHexStringLower(HMACSHA256.HashData(SigningKey, manifest))}\n");
}
