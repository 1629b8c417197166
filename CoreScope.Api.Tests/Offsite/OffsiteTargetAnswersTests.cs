using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using CoreScope.Api.Tests.Backup;
using CoreScope.Api.Tests.Restore;
using CoreScope.Data.Offsite;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// docs/offsite.md "When a copy fails": a target that hangs or answers what no storage service would (XML cut off, an
/// HTML page), behind a <see cref="MisbehavingProxy"/> in front of the emulator, is the target's failure: retried,
/// listed as that target's error, answered 502; an object changed in the bucket is reported as changed, not as a
/// target that could not be reached; and a bug of ours is not taken for the target's failure.
/// </summary>
[Category("Slow")]
public sealed class OffsiteTargetAnswersTests : WorkspaceTests
{
    // The SDKs try a request three times (their two quick retries) before the uploader sees the failure.
    [TestCase("s3", ProxyAnswer.Hang, 3)]
    [TestCase("azureblob", ProxyAnswer.BrokenXml, 1)]
    [TestCase("azureblob", ProxyAnswer.Html, 1)]
    public async Task Copy_WhenTheTargetHangsOrAnswersGarbage_IsRetried_ThenTheCopyIsWhole(string targetName, ProxyAnswer answer, int requests)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await using var proxy = await MisbehavingProxy.StartAsync(Upstream(target));
        var settings = target.Settings();
        ThroughProxy(settings, target, proxy);
        await CreateDatabaseAsync(60);
        var server = CreateServer([.. settings.Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        proxy.First(requests, answer);

        var manifest = await StoredBackups.StoreAsync(client);
        var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName, 120_000);

        proxy.Misbehaved.Should().Be(requests);
        var file = Path.Combine(StoredBackups.DefaultFolder(Workspace.DatabasePath), $"corescope-backup-{manifest.Id()}.db");
        (await target.ReadAsync(copy.GetProperty("key").GetString()!)).Should().Equal(await File.ReadAllBytesAsync(file));
        var why = answer == ProxyAnswer.Hang ? "did not answer in time" : "not a storage service's answer";
        server.Logs.Lines.Should().Contain(line =>
            line.Message.Contains($"Offsite copy of backup {manifest.Id()} to {targetName} failed (try 1 of 8), trying again") && line.Message.Contains(why));
        var health = (await OffsiteCopies.HealthAsync(client)).GetProperty("backup").GetProperty("offsite")[0];
        health.GetProperty("failing").GetBoolean().Should().BeFalse();
        health.GetProperty("lastFailureAt").ValueKind.Should().Be(JsonValueKind.Null, "a retry that then worked is not a failed copy");
    }

    [TestCase("s3", ProxyAnswer.Hang)]
    [TestCase("azureblob", ProxyAnswer.BrokenXml)]
    public async Task CopyNow_WhenTheTargetHangsOrAnswersGarbage_Answers502NamingTheTarget_NotItsEndpoint(string targetName, ProxyAnswer answer)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await using var proxy = await MisbehavingProxy.StartAsync(Upstream(target));
        var settings = target.Settings();
        ThroughProxy(settings, target, proxy);
        await CreateDatabaseAsync(40);
        var server = CreateServer([.. settings.Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
        proxy.Always(answer);

        using var response = await client.PostAsync($"/api/backups/{manifest.Id()}/offsite", null);

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadGateway, body);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        JsonDocument.Parse(body).RootElement.GetProperty("error").GetString().Should()
            .Contain($"{targetName}: ").And.Contain(answer == ProxyAnswer.Hang ? "did not answer in time" : "not a storage service's answer");
        body.Should().NotContain(new Uri(proxy.Url).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "the answer names the target, not its endpoint");
        StoredBackups.HashFile(Path.Combine(StoredBackups.DefaultFolder(Workspace.DatabasePath), $"corescope-backup-{manifest.Id()}.db")).Should().Be(manifest.Sha256());
    }

    [TestCase("s3", ProxyAnswer.BrokenXml)]
    [TestCase("azureblob", ProxyAnswer.BrokenXml)]
    [TestCase("azureblob", ProxyAnswer.Html)]
    public async Task List_WhenOneTargetAnswersGarbage_GivesThatTargetsError_AndTheOtherListsNormally(string failing, ProxyAnswer answer)
    {
        await using var s3 = await TargetUnderTest.StartAsync("s3", Workspace.Root);
        await using var azure = await TargetUnderTest.StartAsync("azureblob", Workspace.Root);
        var broken = failing == "s3" ? s3 : azure;
        await using var proxy = await MisbehavingProxy.StartAsync(Upstream(broken));
        var settings = s3.Settings();
        foreach (var (key, value) in azure.Settings())
        {
            settings[key] = value;
        }

        ThroughProxy(settings, broken, proxy);
        await CreateDatabaseAsync(40);
        var server = CreateServer([.. settings.Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), "s3");
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), "azureblob");
        proxy.Always(answer);

        using var response = await client.GetAsync("/api/offsite/backups");

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        var listings = JsonDocument.Parse(body).RootElement.GetProperty("targets").EnumerateArray().ToDictionary(listing => listing.GetProperty("target").GetString()!);
        listings.Keys.Should().BeEquivalentTo(["s3", "azureblob"]);
        var failed = listings[failing];
        failed.GetProperty("error").GetString().Should().Contain("not a storage service's answer");
        failed.GetProperty("backups").GetArrayLength().Should().Be(0);
        var other = listings[failing == "s3" ? "azureblob" : "s3"];
        other.GetProperty("error").ValueKind.Should().Be(JsonValueKind.Null);
        other.GetProperty("backups").EnumerateArray().Select(backup => backup.GetProperty("manifest").Id()).Should().Equal(manifest.Id());
    }

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task RestoreWithOffsite_OfAnS3ObjectOrBlobChangedInTheBucket_Answers422ChangedOnTheTarget_AndChangesNothing(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(80);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
        var key = copy.GetProperty("key").GetString()!;

        // Someone with the bucket's key rewrote the object: one byte differs, the size is the same.
        var bytes = await target.ReadAsync(key);
        bytes[bytes.Length / 2] ^= 0x5A;
        await WriteObjectAsync(target, key, bytes);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 10);
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        using var response = await client.PostAsync("/api/admin/restore?offsite=" + Uri.EscapeDataString(targetName + ":" + key), null);

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, body);
        var error = JsonDocument.Parse(body).RootElement.GetProperty("error").GetString();
        error.Should().Contain($"changed on the target {targetName}").And.Contain(copy.GetProperty("sha256").GetString()!).And.NotContain("could not be reached");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    [Test]
    public async Task ABugOfOursInACall_IsNotTakenForTheTargetsFailure_AndIsNotRetried()
    {
        await using var target = await TargetUnderTest.StartAsync("s3", Workspace.Root);
        await CreateDatabaseAsync(40);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), "s3");
        var s3 = server.Services.GetRequiredService<OffsiteTargets>().Get("s3");
        var uploader = server.Services.GetRequiredService<OffsiteUploader>();

        // A call on a client after its end: the SDK throws ObjectDisposedException from its own code, and no bucket
        // can fix that.
        ((IDisposable)s3).Dispose();
        var copy = () => uploader.CopyWithRetriesAsync(s3, manifest.Id(), CancellationToken.None);

        await copy.Should().ThrowExactlyAsync<ObjectDisposedException>();
        server.Logs.Lines.Should().NotContain(line => line.Message.Contains("trying again"));
        var health = (await OffsiteCopies.HealthAsync(client)).GetProperty("backup").GetProperty("offsite")[0];
        health.GetProperty("failing").GetBoolean().Should().BeFalse("the target did not fail");
        health.GetProperty("lastFailureAt").ValueKind.Should().Be(JsonValueKind.Null);
    }

    private static string Upstream(TargetUnderTest target) => $"http://127.0.0.1:{target.Emulator.Port}";

    // The server's settings for the target, its endpoint replaced by the proxy's.
    private static void ThroughProxy(Dictionary<string, string?> settings, TargetUnderTest target, MisbehavingProxy proxy)
    {
        if (target.Emulator is AzuriteEmulator azure)
        {
            settings["CoreScope:Offsite:AzureBlob:ConnectionString"] = azure.ConnectionString().Replace(Upstream(target), proxy.Url, StringComparison.Ordinal);
        }
        else
        {
            settings["CoreScope:Offsite:S3:ServiceUrl"] = proxy.Url;
        }
    }

    private static async Task WriteObjectAsync(TargetUnderTest target, string key, byte[] bytes)
    {
        if (target.Emulator is AzuriteEmulator azure)
        {
            await azure.ContainerClient().GetBlobClient(key).UploadAsync(new BinaryData(bytes), overwrite: true);
            return;
        }

        var s3 = (S3rverEmulator)target.Emulator;
        using var client = new AmazonS3Client(new BasicAWSCredentials(S3rverEmulator.AccessKey, S3rverEmulator.SecretKey), new AmazonS3Config
        {
            ServiceURL = s3.ServiceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
        });
        using var body = new MemoryStream(bytes);
        await client.PutObjectAsync(new PutObjectRequest { BucketName = S3rverEmulator.Bucket, Key = key, InputStream = body, UseChunkEncoding = false });
    }
}
