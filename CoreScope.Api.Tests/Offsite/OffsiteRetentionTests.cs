using CoreScope.Api.Tests.Backup;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>docs/offsite.md "Retention on the targets": each target keeps by its own counts, or by the local ones where they are unset.</summary>
[Category("Slow")]
public sealed class OffsiteRetentionTests : WorkspaceTests
{
    [TestCase("s3", null, "2", 2, 4)]
    [TestCase("azureblob", null, "2", 2, 4)]
    [TestCase("s3", "3", null, 3, 3)]
    [TestCase("azureblob", "3", null, 3, 3)]
    public async Task EachTarget_KeepsItsCount_AndTheLocalManifestsForgetRemovedCopies(
        string targetName, string? localKeepLast, string? offsiteKeepLast, int keptRemotely, int keptLocally)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        var settings = target.Settings();
        if (localKeepLast is not null)
        {
            settings["CoreScope:Backup:Retention:KeepLast"] = localKeepLast;
        }

        if (offsiteKeepLast is not null)
        {
            settings["CoreScope:Offsite:Retention:KeepLast"] = offsiteKeepLast;
        }

        await CreateDatabaseAsync(30);
        var server = CreateServer([.. settings.Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var ids = new List<string>();
        for (var backup = 0; backup < 4; backup++)
        {
            // A second apart: ids sort by their time, and retention's "newest" is the newest second.
            await Task.Delay(1_100);
            var manifest = await StoredBackups.StoreAsync(client);
            ids.Add(manifest.Id());
            await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
        }

        var newest = ids.TakeLast(keptRemotely).ToList();
        await Eventually.TrueAsync(async () => (await RemoteIdsAsync(client)).Count == keptRemotely, "the target's retention", 30_000);

        (await RemoteIdsAsync(client)).Should().BeEquivalentTo(newest);
        foreach (var id in ids)
        {
            var held = newest.Contains(id);
            (await target.HoldsAsync($"corescope/corescope-backup-{id}.db")).Should().Be(held, id);
            (await target.HoldsAsync($"corescope/corescope-backup-{id}.json")).Should().Be(held, id);
            (await target.HoldsAsync($"corescope/corescope-backup-{id}.json.sig")).Should().Be(held, id);
        }

        var local = (await StoredBackups.ListAsync(client)).GetProperty("backups").EnumerateArray().ToList();
        local.Should().HaveCount(keptLocally);
        foreach (var manifest in local)
        {
            var copied = manifest.TryGetProperty("offsite", out var offsite) && offsite.ValueKind == JsonValueKind.Array && offsite.GetArrayLength() > 0;
            copied.Should().Be(newest.Contains(manifest.Id()), "the local manifest of a copy retention removed no longer lists it");
        }

        server.Logs.Lines.Should().Contain(line => line.Message.StartsWith("Offsite retention removed backup " + ids[0], StringComparison.Ordinal));
    }

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task ACopyDatedInTheFuture_DoesNotPushOutTheNewOnes_ItIsTheOldestInTheStoresOrder(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        var settings = target.Settings();
        settings["CoreScope:Offsite:Retention:KeepLast"] = "2";
        await CreateDatabaseAsync(30);

        // A backup of an earlier version whose clock was a year ahead; the server copies the newest good backup at start.
        var future = StoredBackups.PlantAsAnEarlierVersion(
            StoredBackups.DefaultFolder(Workspace.DatabasePath), Workspace.DatabasePath, DateTime.UtcNow.AddYears(1));
        var server = CreateServer([.. settings.Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await OffsiteCopies.WaitForCopyAsync(client, future, targetName);

        var first = (await StoredBackups.StoreAsync(client)).Id();
        await OffsiteCopies.WaitForCopyAsync(client, first, targetName);
        (await RemoteIdsAsync(client)).Should().Equal(first, future);

        var second = (await StoredBackups.StoreAsync(client)).Id();
        await OffsiteCopies.WaitForCopyAsync(client, second, targetName);
        await Eventually.TrueAsync(async () => (await RemoteIdsAsync(client)).Count == 2, "the target's retention", 30_000);

        (await RemoteIdsAsync(client)).Should().Equal([second, first], "KeepLast=2 keeps the two copies the store wrote last, whatever their dates");
        (await target.HoldsAsync($"corescope/corescope-backup-{first}.db")).Should().BeTrue();
        (await target.HoldsAsync($"corescope/corescope-backup-{future}.db")).Should().BeFalse();
    }

    private static async Task<List<string>> RemoteIdsAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/offsite/backups");
        var listing = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("targets")[0];
        return listing.GetProperty("backups").EnumerateArray().Select(backup => backup.GetProperty("manifest").Id()).ToList();
    }
}
