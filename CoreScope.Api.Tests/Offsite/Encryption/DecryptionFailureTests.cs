using CoreScope.Data.Offsite.Encryption;

namespace CoreScope.Api.Tests.Offsite.Encryption;

/// <summary>
/// docs/offsite.md "Encryption", "Restoring an encrypted copy": an altered or cut-short file fails with nothing left
/// behind; a wrong passphrase or key is the operator's input, its own exception, and neither key nor passphrase is
/// in a message or the log.
/// </summary>
public sealed class DecryptionFailureTests : EncryptionTests
{
    private string _fingerprint = "";
    private string _encryptedPath = "";
    private string _decryptedPath = "";
    private OffsiteEncryption _encryption = null!;

    [SetUp]
    public async Task EncryptADatabaseAsync()
    {
        var database = await CreateSqliteFileAsync();
        (_fingerprint, var publicKeyFile) = await CreateKeyAsync();
        _encryption = await StartEncryptionAsync(publicKeyFile);
        _encryptedPath = Path.Combine(Workspace.DownloadDirectory, "corescope-backup.db.gpg");
        _decryptedPath = Path.Combine(Workspace.DownloadDirectory, "restored.db");
        await _encryption.EncryptAsync(database, _encryptedPath, CancellationToken.None);
    }

    [TestCase(0.5, Description = "inside the encrypted database")]
    [TestCase(0.999, Description = "near the end, before the integrity packet")]
    [TestCase(1.0, Description = "the last byte: the integrity packet itself")]
    public async Task ATamperedFile_FailsItsIntegrityCheck_AndLeavesNoOutput(double where)
    {
        var bytes = await File.ReadAllBytesAsync(_encryptedPath);
        bytes[Math.Min((int)(bytes.Length * where), bytes.Length - 1)] ^= 0x01;
        await File.WriteAllBytesAsync(_encryptedPath, bytes);

        var key = await PrivateKeyAsync();

        var decrypting = () => _encryption.DecryptAsync(_encryptedPath, _decryptedPath, key, CancellationToken.None);

        (await decrypting.Should().ThrowAsync<EncryptedFileDamagedException>())
            .Which.Message.Should().Contain("corescope-backup.db.gpg").And.ContainAny("integrity check", "damaged");
        FileNames(Workspace.DownloadDirectory).Should().Equal("corescope-backup.db", "corescope-backup.db.gpg");
        var (exitCode, _) = await Gpg.DecryptAsync(_encryptedPath, Path.Combine(Workspace.Root, "by-gpg.db"));
        exitCode.Should().NotBe(0, "gpg refuses the same file");
    }

    [Test]
    public async Task ACutShortFile_IsDamaged_AndLeavesNoOutput()
    {
        await using (var file = new FileStream(_encryptedPath, FileMode.Open))
        {
            file.SetLength(file.Length / 2);
        }

        var key = await PrivateKeyAsync();

        var decrypting = () => _encryption.DecryptAsync(_encryptedPath, _decryptedPath, key, CancellationToken.None);

        (await decrypting.Should().ThrowAsync<EncryptedFileDamagedException>()).Which.Message.Should().Contain("cut short");
        FileNames(Workspace.DownloadDirectory).Should().Equal("corescope-backup.db", "corescope-backup.db.gpg");
    }

    [Test]
    public async Task AFileThatIsNotEncrypted_IsRefusedAsDamaged()
    {
        var plain = Path.Combine(Workspace.DownloadDirectory, "corescope-backup.db");

        var key = await PrivateKeyAsync();

        var decrypting = () => _encryption.DecryptAsync(plain, _decryptedPath, key, CancellationToken.None);

        await decrypting.Should().ThrowAsync<EncryptedFileDamagedException>();
        File.Exists(_decryptedPath).Should().BeFalse();
    }

    [Test]
    public async Task AWrongPassphrase_ThrowsTheKeyException_NamingNeitherKeyNorPassphrase()
    {
        var armoredPrivateKey = await Gpg.ExportPrivateKeyAsync(_fingerprint);
        const string wrongPassphrase = "not the passphrase";
        var key = new OffsiteDecryptionKey(armoredPrivateKey, wrongPassphrase);

        var decrypting = () => _encryption.DecryptAsync(_encryptedPath, _decryptedPath, key, CancellationToken.None);

        var message = (await decrypting.Should().ThrowAsync<OffsiteDecryptionKeyException>()).Which.Message;
        message.Should().Contain("passphrase does not unlock").And.NotContain(wrongPassphrase).And.NotContain(GpgHome.Passphrase);
        message.Should().NotContain(KeyBody(armoredPrivateKey));
        key.ToString().Should().NotContain(wrongPassphrase).And.NotContain(KeyBody(armoredPrivateKey));
        FileNames(Workspace.DownloadDirectory).Should().Equal("corescope-backup.db", "corescope-backup.db.gpg");
        AllLogText().Should().NotContain(wrongPassphrase).And.NotContain(KeyBody(armoredPrivateKey));
    }

    [Test]
    public async Task AnotherPrivateKey_ThrowsTheKeyException_NamingTheKeyIdTheFileWants()
    {
        var otherFingerprint = await Gpg.GenerateKeyAsync("Someone Else");
        var key = new OffsiteDecryptionKey(await Gpg.ExportPrivateKeyAsync(otherFingerprint), GpgHome.Passphrase);

        var decrypting = () => _encryption.DecryptAsync(_encryptedPath, _decryptedPath, key, CancellationToken.None);

        (await decrypting.Should().ThrowAsync<OffsiteDecryptionKeyException>())
            .Which.Message.Should().Contain("encrypted to the key").And.Contain("supply the private key");
        File.Exists(_decryptedPath).Should().BeFalse();
    }

    [TestCase("public", "is a public key")]
    [TestCase("garbage", "is not an OpenPGP private key")]
    [TestCase("broken", "could not be read")]
    public async Task NotAPrivateKey_ThrowsTheKeyException(string what, string expected)
    {
        var text = what switch
        {
            "public" => await File.ReadAllTextAsync(Path.Combine(Workspace.Root, "CoreScope-Offsite.asc")),
            "garbage" => "hello",
            _ => "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PRIVATE KEY BLOCK-----\n",
        };

        var decrypting = () => _encryption.DecryptAsync(_encryptedPath, _decryptedPath, new OffsiteDecryptionKey(text, GpgHome.Passphrase), CancellationToken.None);

        (await decrypting.Should().ThrowAsync<OffsiteDecryptionKeyException>()).Which.Message.Should().Contain(expected);
        File.Exists(_decryptedPath).Should().BeFalse();
    }

    [Test]
    public async Task Decrypt_Succeeding_LogsNoKeyMaterial()
    {
        var armoredPrivateKey = await Gpg.ExportPrivateKeyAsync(_fingerprint);

        await _encryption.DecryptAsync(_encryptedPath, _decryptedPath, new OffsiteDecryptionKey(armoredPrivateKey, GpgHome.Passphrase), CancellationToken.None);

        AllLogText().Should().Contain("integrity check passed").And.NotContain(GpgHome.Passphrase).And.NotContain(KeyBody(armoredPrivateKey));
    }

    private async Task<OffsiteDecryptionKey> PrivateKeyAsync() => new(await Gpg.ExportPrivateKeyAsync(_fingerprint), GpgHome.Passphrase);

    private string AllLogText() => string.Join("\n", Logs.Lines.Select(line => line.Message));

    // A line from the middle of the armor: any piece of the key in a message or a log would contain it.
    private static string KeyBody(string armored) => armored.Split('\n').Where(line => line.Length > 60).Skip(2).First();
}
