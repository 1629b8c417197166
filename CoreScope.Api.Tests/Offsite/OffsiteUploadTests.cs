using CoreScope.Api.Tests.Backup;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>docs/offsite.md "Copies": after each stored backup and on demand, the file and its manifest, byte for byte, recorded in the manifest.</summary>
[Category("Slow")]
public sealed class OffsiteUploadTests : WorkspaceTests
{
    private string StoreFolder => StoredBackups.DefaultFolder(Workspace.DatabasePath);

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task StoredBackup_IsCopiedByteForByte_WithItsManifest_AndTheManifestSaysWhere(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(300);
        var server = CreateServer([.. target.Settings("box-7/").Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var manifest = await StoredBackups.StoreAsync(client, "?compress=gzip");
        var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);

        var fileName = $"corescope-backup-{manifest.Id()}.db.gz";
        copy.GetProperty("key").GetString().Should().Be("box-7/" + fileName);
        copy.GetProperty("sha256").GetString().Should().Be(manifest.Sha256());
        copy.GetProperty("sizeBytes").GetInt64().Should().Be(manifest.GetProperty("sizeBytes").GetInt64());
        copy.GetProperty("confirmedAt").GetDateTime().Should().BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(1));
        var local = await File.ReadAllBytesAsync(Path.Combine(StoreFolder, fileName));
        (await target.ReadAsync("box-7/" + fileName)).Should().Equal(local);

        // The manifest beside it is what a new machine reads: the backup's own, with this copy's entry.
        var remote = JsonDocument.Parse(await target.ReadAsync($"box-7/corescope-backup-{manifest.Id()}.json")).RootElement;
        remote.Id().Should().Be(manifest.Id());
        remote.Sha256().Should().Be(manifest.Sha256());
        remote.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(300);
        remote.GetProperty("offsite").EnumerateArray().Should().ContainSingle().Which.GetProperty("key").GetString().Should().Be("box-7/" + fileName);

        // And the local manifest on disk says so too.
        var onDisk = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(StoreFolder, $"corescope-backup-{manifest.Id()}.json"))).RootElement;
        onDisk.GetProperty("offsite")[0].GetProperty("target").GetString().Should().Be(targetName);

        var health = await OffsiteCopies.HealthAsync(client);
        var status = health.GetProperty("backup").GetProperty("offsite").EnumerateArray().Should().ContainSingle().Subject;
        status.GetProperty("target").GetString().Should().Be(targetName);
        status.GetProperty("failing").GetBoolean().Should().BeFalse();
        status.GetProperty("lastSuccessBackupId").GetString().Should().Be(manifest.Id());
        server.Logs.Lines.Should().Contain(line => line.Message.Contains($"Copied backup {manifest.Id()} to {targetName}"));
    }

    [Test]
    public async Task BothTargets_EachGetTheCopy_AndTheManifestListsBoth()
    {
        await using var s3 = await TargetUnderTest.StartAsync("s3", Workspace.Root);
        await using var azure = await TargetUnderTest.StartAsync("azureblob", Workspace.Root);
        await CreateDatabaseAsync(200);
        var settings = s3.Settings().Concat(azure.Settings().Where(setting => !setting.Key.StartsWith("CoreScope:Offsite:", StringComparison.Ordinal) || setting.Key.Contains("AzureBlob")));
        var server = CreateServer([.. settings.Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var manifest = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), "s3");
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), "azureblob");

        var local = await File.ReadAllBytesAsync(Path.Combine(StoreFolder, $"corescope-backup-{manifest.Id()}.db"));
        (await s3.ReadAsync($"corescope/corescope-backup-{manifest.Id()}.db")).Should().Equal(local);
        (await azure.ReadAsync($"corescope/corescope-backup-{manifest.Id()}.db")).Should().Equal(local);
    }

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task PostOffsite_CopiesNow_AndAnswersWithTheManifest(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(100);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
        var key = $"corescope/corescope-backup-{manifest.Id()}.db";
        await target.Emulator.StopAsync();
        await target.StartAgainAsync();

        using var response = await client.PostAsync($"/api/backups/{manifest.Id()}/offsite", null);

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        var answered = JsonDocument.Parse(body).RootElement;
        answered.GetProperty("offsite").EnumerateArray().Should().ContainSingle().Which.GetProperty("key").GetString().Should().Be(key);
        (await target.ReadAsync(key)).Should().Equal(await File.ReadAllBytesAsync(Path.Combine(StoreFolder, $"corescope-backup-{manifest.Id()}.db")));
    }
}
