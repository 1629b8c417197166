using System.Security.Cryptography;
using System.Text;
using CoreScope.Api.Tests.Backup;
using CoreScope.Api.Tests.Offsite.Encryption;
using CoreScope.Api.Tests.Restore;
using CoreScope.Data.Offsite.Signing;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// docs/offsite.md "Signed manifests": each manifest on a target is signed over its exact bytes, with the HMAC key kept
/// on the box or with an OpenPGP key, and checked before it is listed, restored from or used by retention.
/// </summary>
[Category("Slow")]
public sealed class OffsiteSigningTests : WorkspaceTests
{
    private string KeyFile => Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, OffsiteSigningOptions.KeyFileName);

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task Hmac_SignsEachManifest_OverItsBytes_AndTheListTrustsIt(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(30);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);

        var key = Convert.FromBase64String(await File.ReadAllTextAsync(KeyFile));
        var remote = await target.ReadAsync($"corescope/corescope-backup-{manifest.Id()}.json");
        var signature = Encoding.ASCII.GetString(await target.ReadAsync($"corescope/corescope-backup-{manifest.Id()}.json.sig"));
        var listing = await OffsiteManifestTests.ListingAsync(client);

        signature.Should().Be($"hmac-sha256 key={Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 8))} {Convert.ToHexStringLower(HMACSHA256.HashData(key, remote))}\n");
        listing.GetProperty("backups").EnumerateArray().Select(backup => backup.GetProperty("manifest").Id()).Should().Equal(manifest.Id());
        listing.GetProperty("refused").GetArrayLength().Should().Be(0);
    }

    [Test]
    public async Task Hmac_KeyFile_IsMadeOnTheFirstCopy_BesideTheDatabase_ReadableByTheServerAlone()
    {
        await using var target = await TargetUnderTest.StartAsync("s3", Workspace.Root);
        await CreateDatabaseAsync(10);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await OffsiteCopies.HealthAsync(client);
        var before = File.Exists(KeyFile);

        var manifest = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), "s3");

        before.Should().BeFalse("the key is made when the first manifest is signed");
        Convert.FromBase64String(await File.ReadAllTextAsync(KeyFile)).Should().HaveCount(32);
        if (!OperatingSystem.IsWindows())
        {
            File.GetUnixFileMode(KeyFile).Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var keyText = (await File.ReadAllTextAsync(KeyFile)).Trim();
        server.Logs.Lines.Should().NotContain(line => line.Message.Contains(keyText, StringComparison.Ordinal));
    }

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task TamperedManifest_IsRefusedInTheList_AndItsRestoreIs422_ChangingNothing(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(30);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
        var manifestKey = $"corescope/corescope-backup-{manifest.Id()}.json";

        // The digest changed, the signature left as it was: what swapping the object for another looks like in the manifest.
        var text = Encoding.UTF8.GetString(await target.ReadAsync(manifestKey));
        var tampered = text.Replace(manifest.Sha256(), new string('0', 64), StringComparison.Ordinal);
        tampered.Should().NotBe(text);
        await target.WriteAsync(manifestKey, Encoding.UTF8.GetBytes(tampered));
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 15);
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        var listing = await OffsiteManifestTests.ListingAsync(client);
        using var restore = await client.PostAsync("/api/admin/restore?offsite=" + Uri.EscapeDataString(targetName + ":" + copy.GetProperty("key").GetString()), null);

        listing.GetProperty("backups").GetArrayLength().Should().Be(0);
        var refused = listing.GetProperty("refused").EnumerateArray().Should().ContainSingle().Subject;
        refused.GetProperty("manifest").GetString().Should().Be(manifestKey);
        refused.GetProperty("reason").GetString().Should().Contain("changed after it was signed");
        var body = await restore.Content.ReadAsStringAsync();
        restore.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, body);
        JsonDocument.Parse(body).RootElement.GetProperty("error").GetString().Should().Contain("changed after it was signed").And.Contain("Nothing was read or changed");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    [Test]
    public async Task OpenPgp_SignsWithThePrivateKey_AndAMachineWithThePublicKeyAlone_ListsAndRestores_AsGpgVerifies()
    {
        await using var gpg = GpgHome.Create(Workspace.Root);
        var fingerprint = await gpg.GenerateKeyAsync("CoreScope signing");
        var keys = await KeyFilesAsync(gpg, fingerprint, "signing");
        await using var target = await TargetUnderTest.StartAsync("s3", Workspace.Root);
        await CreateDatabaseAsync(60);
        string source;
        SortedDictionary<string, List<string>> original;
        string manifestKey;
        await using (var box = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, SigningSettings(target, keys)))
        {
            using var client = box.CreateClient(CoreScopeApiFactory.StrongApiKey);
            var manifest = await StoredBackups.StoreAsync(client);
            var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), "s3");
            source = "s3:" + copy.GetProperty("key").GetString();
            manifestKey = $"corescope/corescope-backup-{manifest.Id()}.json";
            original = DatabaseContent.Read(Workspace.DatabasePath);
        }

        var manifestFile = Path.Combine(Workspace.Root, "manifest.json");
        var signatureFile = manifestFile + ".sig";
        await File.WriteAllBytesAsync(manifestFile, await target.ReadAsync(manifestKey));
        await File.WriteAllBytesAsync(signatureFile, await target.ReadAsync(manifestKey + ".sig"));
        var (verifyExit, verifyError) = await gpg.VerifyAsync(signatureFile, manifestFile);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 20);

        // Another machine: the public key only, no private key and no HMAC key file.
        File.Exists(KeyFile).Should().BeFalse();
        var checker = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!)), (OffsiteSigningOptions.PublicKeyFileSetting, keys.Public)]);
        using var checkerClient = checker.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var listing = await OffsiteManifestTests.ListingAsync(checkerClient);
        using var restore = await checkerClient.PostAsync("/api/admin/restore?offsite=" + Uri.EscapeDataString(source), null);

        File.ReadAllText(signatureFile).Should().StartWith("-----BEGIN PGP SIGNATURE-----");
        verifyExit.Should().Be(0, verifyError);
        verifyError.Should().Contain("Good signature");
        listing.GetProperty("backups").GetArrayLength().Should().Be(1);
        listing.GetProperty("refused").GetArrayLength().Should().Be(0);
        var body = await restore.Content.ReadAsStringAsync();
        restore.StatusCode.Should().Be(HttpStatusCode.OK, body);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(original, options => options.WithStrictOrdering());
    }

    [Test]
    public async Task OpenPgp_WithAnotherPublicKey_TheCopiesAreRefused_InTheListAndTheRestore()
    {
        await using var gpg = GpgHome.Create(Workspace.Root);
        var keys = await KeyFilesAsync(gpg, await gpg.GenerateKeyAsync("CoreScope signing"), "signing");
        var other = await KeyFilesAsync(gpg, await gpg.GenerateKeyAsync("Someone else"), "other");
        await using var target = await TargetUnderTest.StartAsync("s3", Workspace.Root);
        await CreateDatabaseAsync(30);
        string source;
        await using (var box = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, SigningSettings(target, keys)))
        {
            using var client = box.CreateClient(CoreScopeApiFactory.StrongApiKey);
            var manifest = await StoredBackups.StoreAsync(client);
            source = "s3:" + (await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), "s3")).GetProperty("key").GetString();
        }

        var before = DatabaseContent.Read(Workspace.DatabasePath);
        var checker = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!)), (OffsiteSigningOptions.PublicKeyFileSetting, other.Public)]);
        using var client2 = checker.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var listing = await OffsiteManifestTests.ListingAsync(client2);
        using var restore = await client2.PostAsync("/api/admin/restore?offsite=" + Uri.EscapeDataString(source), null);

        listing.GetProperty("backups").GetArrayLength().Should().Be(0);
        listing.GetProperty("refused").EnumerateArray().Should().ContainSingle()
            .Which.GetProperty("reason").GetString().Should().Contain("which is not in " + OffsiteSigningOptions.PublicKeyFileSetting);
        var body = await restore.Content.ReadAsStringAsync();
        restore.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity, body);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    private async Task<(string Private, string Passphrase, string Public)> KeyFilesAsync(GpgHome gpg, string fingerprint, string name)
    {
        var folder = Path.Combine(Workspace.Root, "keys-" + name);
        Directory.CreateDirectory(folder);
        var privateKey = Path.Combine(folder, "signing-PRIVATE.asc");
        await File.WriteAllTextAsync(privateKey, await gpg.ExportPrivateKeyAsync(fingerprint));
        var passphrase = Path.Combine(folder, "passphrase");
        await File.WriteAllTextAsync(passphrase, GpgHome.Passphrase + "\n");
        return (privateKey, passphrase, await gpg.ExportPublicKeyAsync(fingerprint, Path.Combine(folder, "signing.asc")));
    }

    private static Dictionary<string, string?> SigningSettings(TargetUnderTest target, (string Private, string Passphrase, string Public) keys) =>
        new(target.Settings())
        {
            [OffsiteSigningOptions.PrivateKeyFileSetting] = keys.Private,
            [OffsiteSigningOptions.PassphraseFileSetting] = keys.Passphrase,
            [OffsiteSigningOptions.PublicKeyFileSetting] = keys.Public,
        };
}
