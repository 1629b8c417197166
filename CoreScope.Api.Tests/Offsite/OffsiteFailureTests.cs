using CoreScope.Api.Tests.Backup;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// docs/offsite.md "When a copy fails": an outage mid-upload is retried and then works; wrong credentials and a missing
/// bucket or container are reported in the log, health and the webhook, never retried for ever, and never touch the
/// local backup.
/// </summary>
[Category("Slow")]
public sealed class OffsiteFailureTests : WorkspaceTests
{
    private string StoreFolder => StoredBackups.DefaultFolder(Workspace.DatabasePath);

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task TargetStoppedMidUpload_IsRetried_ThenTheCopyIsWhole_AndTheLocalBackupUntouched(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);

        // About 50 MB: ten parts of 5 MiB, so the emulator can be stopped with parts sent and parts to go.
        await CreateDatabaseAsync(4_000, observationsEach: 1, payloadBytes: 6_000);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var stored = StoredBackups.StoreAsync(client, "?method=pages");
        await Eventually.TrueAsync(() => Task.FromResult(BytesUnder(target.Emulator.Folder) > 6L << 20), "the first parts to reach the emulator", 120_000);
        await target.Emulator.StopAsync();
        var manifest = await stored;

        // Down for longer than the SDKs' own two quick retries last (about 1.5 s for Azure's), so the uploader's retry is the one that works.
        await Task.Delay(3_000);
        await target.StartAgainAsync();

        var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName, 120_000);

        var file = Path.Combine(StoreFolder, $"corescope-backup-{manifest.Id()}.db");
        StoredBackups.HashFile(file).Should().Be(manifest.Sha256(), "the local backup is whole");
        copy.GetProperty("sha256").GetString().Should().Be(manifest.Sha256());
        (await target.ReadAsync(copy.GetProperty("key").GetString()!)).Should().Equal(await File.ReadAllBytesAsync(file));
        server.Logs.Lines.Should().Contain(line => line.Message.Contains($"Offsite copy of backup {manifest.Id()} to {targetName} failed (try 1 of 8), trying again"));
        var health = (await OffsiteCopies.HealthAsync(client)).GetProperty("backup").GetProperty("offsite")[0];
        health.GetProperty("failing").GetBoolean().Should().BeFalse();
        health.GetProperty("lastFailureAt").ValueKind.Should().Be(JsonValueKind.Null, "a retry that then worked is not a failed copy");
    }

    // Azurite answers a wrong account key with AuthorizationFailure; Azure itself says AuthenticationFailed, and the message names both.
    [TestCase("s3", "InvalidAccessKeyId")]
    [TestCase("azureblob", "AuthorizationFailure")]
    public async Task WrongCredentials_AreReportedInLogHealthAndWebhook_NotRetried_AndTheBackupStays(string targetName, string reason)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CopyFailsAsync(target, target.Settings(wrongCredentials: true), reason);
    }

    [TestCase("s3", "does not exist")]
    [TestCase("azureblob", "does not exist")]
    public async Task MissingBucketOrContainer_IsReportedInLogHealthAndWebhook_NotRetried_AndTheBackupStays(string targetName, string reason)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CopyFailsAsync(target, target.Settings(bucket: "no-such-bucket"), reason);
    }

    private async Task CopyFailsAsync(TargetUnderTest target, Dictionary<string, string?> settings, string reason)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        settings["CoreScope:Notify:WebhookUrl"] = receiver.Url;
        await CreateDatabaseAsync(80);
        var server = CreateServer([.. settings.Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var manifest = await StoredBackups.StoreAsync(client);

        await receiver.WaitForBodiesAsync(1, 60_000);
        var alert = JsonDocument.Parse(receiver.Bodies[0]).RootElement;
        alert.GetProperty("event").GetString().Should().Be("offsite.failed");
        alert.GetProperty("source").GetString().Should().Be(target.Name);
        alert.GetProperty("text").GetString().Should().Contain(reason).And.Contain(manifest.Id());

        var health = (await OffsiteCopies.HealthAsync(client)).GetProperty("backup");
        health.GetProperty("stale").GetBoolean().Should().BeFalse("the local backup is fresh");
        var offsite = health.GetProperty("offsite").EnumerateArray().Should().ContainSingle().Subject;
        offsite.GetProperty("failing").GetBoolean().Should().BeTrue();
        offsite.GetProperty("lastFailureReason").GetString().Should().Contain(reason);

        // Without the key, health says which target failed and nothing of where it points or what it answered.
        using var anonymous = server.CreateClient(key: null);
        foreach (var path in new[] { "/api/health", "/api/health/backup" })
        {
            using var response = await anonymous.GetAsync(path);
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var section = path == "/api/health" ? body.GetProperty("backup") : body;
            var shown = section.GetProperty("offsite")[0];
            shown.GetProperty("failing").GetBoolean().Should().BeTrue();
            shown.GetProperty("lastFailureReason").GetString().Should().Contain($"target {target.Name} failed")
                .And.NotContain(reason).And.NotContain(target.Emulator.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .And.NotContain(settings.GetValueOrDefault("CoreScope:Offsite:S3:Bucket") ?? settings["CoreScope:Offsite:AzureBlob:Container"]!)
                .And.NotContain("corescope/", "the prefix");
        }

        server.Logs.Lines.Should().Contain(line => line.Message.Contains($"Offsite copy of backup {manifest.Id()} to {target.Name} failed (not retried") && line.Message.Contains(reason));
        server.Logs.Lines.Should().NotContain(line => line.Message.Contains("trying again"));
        server.Logs.Lines.Should().NotContain(line => line.Message.Contains("AccountKey=") || line.Message.Contains(AzuriteEmulator.AccountKey.Substring(0, 20)));

        // The local backup is listed, whole and served; the on-demand copy answers 502 with the same reason.
        (await StoredBackups.IdsAsync(client)).Should().Equal(manifest.Id());
        StoredBackups.HashFile(Path.Combine(StoreFolder, $"corescope-backup-{manifest.Id()}.db")).Should().Be(manifest.Sha256());
        using var now = await client.PostAsync($"/api/backups/{manifest.Id()}/offsite", null);
        now.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        JsonDocument.Parse(await now.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().Should().Contain(reason);
        using var list = await client.GetAsync("/api/offsite/backups");
        list.StatusCode.Should().Be(HttpStatusCode.OK);
        JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("targets")[0].GetProperty("error").GetString().Should().Contain(reason);
    }

    private static long BytesUnder(string folder)
    {
        try
        {
            return new DirectoryInfo(folder).EnumerateFiles("*", SearchOption.AllDirectories).Sum(file =>
            {
                try
                {
                    return file.Length;
                }
                catch (FileNotFoundException)
                {
                    return 0;
                }
            });
        }
        catch (Exception exception) when (exception is DirectoryNotFoundException or FileNotFoundException)
        {
            return 0;
        }
    }
}
