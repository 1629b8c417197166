using System.Net.Http.Json;
using System.Security.Cryptography;
using CoreScope.Api.Tests.Backup;
using CoreScope.Api.Tests.Offsite.Encryption;
using CoreScope.Api.Tests.Restore;
using CoreScope.Data.Offsite.Encryption;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// docs/offsite.md "Encryption", wired: with a public key configured, what reaches s3rver and Azurite is an OpenPGP
/// message that Debian's gpg decrypts to the stored file, the manifest gives both SHA-256, and a restore from it takes
/// the private key for that request (or from files, offline), refusing without it and changing nothing.
/// </summary>
[Category("Slow")]
public sealed class OffsiteEncryptionTests : WorkspaceTests
{
    private GpgHome _gpg = null!;
    private string _fingerprint = null!;
    private string _publicKeyFile = null!;

    [SetUp]
    public async Task CreateKeyAsync()
    {
        _gpg = GpgHome.Create(Workspace.Root);
        _fingerprint = await _gpg.GenerateKeyAsync("CoreScope Offsite");
        _publicKeyFile = await _gpg.ExportPublicKeyAsync(_fingerprint, Path.Combine(Workspace.Root, "corescope-offsite.asc"));
    }

    [TearDown]
    public async Task DisposeGpgAsync() => await _gpg.DisposeAsync();

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task Copy_IsEncryptedOnTheTarget_AndGpgDecryptsItToTheStoredFile_WithBothDigestsInTheManifest(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(80);
        var server = CreateServer([.. EncryptedSettings(target.Settings()).Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client, "?compress=gzip");

        var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);

        var fileName = manifest.GetProperty("fileName").GetString()!;
        var storedFile = Path.Combine(StoredBackups.DefaultFolder(Workspace.DatabasePath), fileName);
        var key = copy.GetProperty("key").GetString()!;
        key.Should().Be($"corescope/{fileName}.gpg");
        var sent = await target.ReadAsync(key);
        var plain = await File.ReadAllBytesAsync(storedFile);
        sent.Should().NotEqual(plain);
        sent.AsSpan().IndexOf(plain.AsSpan(0, 64)).Should().Be(-1, "no stretch of the plain file is in the copy");

        var downloaded = Path.Combine(Workspace.Root, "downloaded.gpg");
        await File.WriteAllBytesAsync(downloaded, sent);
        var decrypted = Path.Combine(Workspace.Root, "decrypted.db.gz");
        var (exitCode, error) = await _gpg.DecryptAsync(downloaded, decrypted);
        exitCode.Should().Be(0, error);
        (await File.ReadAllBytesAsync(decrypted)).Should().Equal(plain);
        var plainSha256 = Convert.ToHexStringLower(SHA256.HashData(plain));
        plainSha256.Should().Be(manifest.Sha256());

        // The entry: sha256 and sizeBytes of the bytes on the target, plainSha256 and plainSizeBytes of what gpg gives back.
        copy.GetProperty("sha256").GetString().Should().Be(Convert.ToHexStringLower(SHA256.HashData(sent)));
        copy.GetProperty("sizeBytes").GetInt64().Should().Be(sent.Length);
        copy.GetProperty("encryption").GetString().Should().Be("openpgp");
        copy.GetProperty("plainSha256").GetString().Should().Be(plainSha256);
        copy.GetProperty("plainSizeBytes").GetInt64().Should().Be(plain.Length);
        copy.GetProperty("recipients").EnumerateArray().Select(item => item.GetString()).Should().ContainSingle()
            .Which.Should().BeEquivalentTo(_fingerprint, "the primary key's fingerprint, as gpg --list-keys shows it");

        // The manifest beside the copy, which a new machine reads, says the same.
        var remote = JsonDocument.Parse(await target.ReadAsync($"corescope/corescope-backup-{manifest.Id()}.json")).RootElement;
        remote.Sha256().Should().Be(plainSha256);
        var remoteCopy = remote.GetProperty("offsite").EnumerateArray().Should().ContainSingle().Subject;
        remoteCopy.GetProperty("sha256").GetString().Should().Be(copy.GetProperty("sha256").GetString());
        remoteCopy.GetProperty("plainSha256").GetString().Should().Be(plainSha256);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task RestoreWithOffsite_OfAnEncryptedCopy_RefusesWithoutTheKeyOrWithAWrongPassphrase_AndRestoresWithIt(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(120);
        var server = CreateServer([.. EncryptedSettings(target.Settings()).Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client, "?compress=gzip");
        var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
        var expected = DatabaseContent.Read(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 30);
        var changed = DatabaseContent.Read(Workspace.DatabasePath);
        var url = "/api/admin/restore?offsite=" + Uri.EscapeDataString(targetName + ":" + copy.GetProperty("key").GetString());
        var privateKey = await _gpg.ExportPrivateKeyAsync(_fingerprint);

        using var withoutKey = await client.PostAsync(url, null);
        using var wrongPassphrase = await client.PostAsync(url, JsonContent.Create(new { privateKey, passphrase = "not the passphrase" }));
        using var notJson = await client.PostAsync(url, new StringContent(privateKey));

        withoutKey.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var reason = JsonDocument.Parse(await withoutKey.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        reason.Should().Contain("is encrypted with OpenPGP").And.Contain(_fingerprint).And.Contain("\"privateKey\"").And.Contain("--private-key-file");
        wrongPassphrase.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        var wrong = await wrongPassphrase.Content.ReadAsStringAsync();
        JsonDocument.Parse(wrong).RootElement.GetProperty("error").GetString().Should().Contain("Nothing was changed");
        notJson.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(changed, options => options.WithStrictOrdering());

        using var withKey = await client.PostAsync(url, JsonContent.Create(new { privateKey, passphrase = GpgHome.Passphrase }));

        var body = await withKey.Content.ReadAsStringAsync();
        withKey.StatusCode.Should().Be(HttpStatusCode.OK, body);
        JsonDocument.Parse(body).RootElement.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(120);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(expected, options => options.WithStrictOrdering());

        // Neither the key nor the passphrase reaches the log; the audit line names the source and counts the bytes.
        var keyLine = privateKey.Split('\n')[3];
        server.Logs.Lines.Should().NotContain(line => line.Message.Contains(keyLine, StringComparison.Ordinal) || line.Message.Contains(GpgHome.Passphrase, StringComparison.Ordinal));
        server.Logs.Lines.Where(line => line.Message.StartsWith("Restore audit:", StringComparison.Ordinal))
            .Should().HaveCount(4).And.OnlyContain(line => line.Message.Contains("source=offsite", StringComparison.Ordinal));
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    /// <summary>docs/offsite.md "A new, empty machine" with an encrypted bucket: the key comes from files the operator kept.</summary>
    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task EmptyMachine_RestoresAnEncryptedCopy_WithTheOfflineCommand_AndTheKeyFromFiles(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        var settings = target.Settings("box-7/");

        await CreateDatabaseAsync(150);
        string source;
        SortedDictionary<string, List<string>> original;
        await using (var oldBox = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, EncryptedSettings(settings)))
        {
            using var client = oldBox.CreateClient(CoreScopeApiFactory.StrongApiKey);
            var manifest = await StoredBackups.StoreAsync(client, "?compress=gzip");
            var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
            source = targetName + ":" + copy.GetProperty("key").GetString();
            original = DatabaseContent.Read(Workspace.DatabasePath);
        }

        // The new box has the bucket's settings and no public key: it only restores. The operator brings the private
        // key and its passphrase as files (the passphrase file ends with a line break, as echo writes it).
        using var newBox = new TestWorkspace();
        var privateKeyFile = Path.Combine(newBox.Root, "corescope-offsite-PRIVATE.asc");
        await File.WriteAllTextAsync(privateKeyFile, await _gpg.ExportPrivateKeyAsync(_fingerprint));
        var passphraseFile = Path.Combine(newBox.Root, "passphrase");
        await File.WriteAllTextAsync(passphraseFile, GpgHome.Passphrase + "\n");
        var environment = settings.ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value);
        environment["CoreScope__ApiKey"] = "";
        environment["CoreScope__Backup__TempDirectory"] = newBox.BackupTempDirectory;
        var database = Path.Combine(newBox.Root, "data", "corescope.db");
        OffsiteCopies.BringSigningKey(Workspace.DatabasePath, database);

        var withoutKey = await ExternalTools.RunAsync("dotnet", [ServerProcess.ServerDll, "restore", "--from-offsite", source, "--database", database], environment);
        var (exitCode, output, error) = await ExternalTools.RunAsync("dotnet",
            [ServerProcess.ServerDll, "restore", "--from-offsite", source, "--private-key-file", privateKeyFile, "--passphrase-file", passphraseFile, "--database", database],
            environment);

        withoutKey.ExitCode.Should().Be(3, withoutKey.StandardError);
        withoutKey.StandardError.Should().Contain("is encrypted with OpenPGP").And.Contain("--private-key-file");
        exitCode.Should().Be(0, output + error);
        output.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("restored " + source).And.Contain("transmissions=150");
        (output + error).Should().NotContain(GpgHome.Passphrase);
        DatabaseContent.Read(database).Should().BeEquivalentTo(original, options => options.WithStrictOrdering());
        TestDatabase.IntegrityCheck(database).Should().Be("ok");
    }

    private Dictionary<string, string?> EncryptedSettings(Dictionary<string, string?> settings) =>
        new(settings) { [OffsiteEncryptionOptions.PublicKeyFileSetting] = _publicKeyFile };
}
