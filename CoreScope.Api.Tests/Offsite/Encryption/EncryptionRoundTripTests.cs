using CoreScope.Data.Offsite.Encryption;

namespace CoreScope.Api.Tests.Offsite.Encryption;

/// <summary>
/// docs/offsite.md "Encryption", "Decrypting by hand" and "The manifest's two SHA-256": what we encrypt, Debian's gpg
/// decrypts to the same bytes; what gpg encrypts, we decrypt with the exported private key and its passphrase.
/// </summary>
public sealed class EncryptionRoundTripTests : EncryptionTests
{
    [TestCase("default", Description = "gpg 2.2's default: RSA 3072 with an RSA encryption subkey")]
    [TestCase("future-default", Description = "ed25519 with a cv25519 (ECDH) encryption subkey")]
    public async Task EncryptedByUs_GpgDecrypts_ToTheSha256WeReportedForTheInput(string algorithm)
    {
        var database = await CreateSqliteFileAsync();
        var (fingerprint, publicKeyFile) = await CreateKeyAsync(algorithm: algorithm);
        var encryption = await StartEncryptionAsync(publicKeyFile);
        var encryptedPath = Path.Combine(Workspace.DownloadDirectory, "corescope-backup.db.gpg");

        var encrypted = await encryption.EncryptAsync(database, encryptedPath, CancellationToken.None);

        encrypted.Path.Should().Be(encryptedPath);
        encrypted.PlainSha256.Should().Be(Sha256Of(database));
        encrypted.PlainSizeBytes.Should().Be(new FileInfo(database).Length);
        encrypted.Sha256.Should().Be(Sha256Of(encryptedPath), "the digest taken while writing is the file's");
        encrypted.SizeBytes.Should().Be(new FileInfo(encryptedPath).Length);
        encrypted.RecipientFingerprints.Should().Equal(fingerprint);
        FileNames(Workspace.DownloadDirectory).Should().Equal("corescope-backup.db", "corescope-backup.db.gpg");

        var decryptedPath = Path.Combine(Workspace.DownloadDirectory, "decrypted-by-gpg.db");
        var (exitCode, error) = await Gpg.DecryptAsync(encryptedPath, decryptedPath);
        exitCode.Should().Be(0, error);
        error.Should().NotContainAny("WARNING", "no integrity");
        Sha256Of(decryptedPath).Should().Be(encrypted.PlainSha256);
        TestDatabase.IntegrityCheck(decryptedPath).Should().Be("ok");
    }

    [Test]
    public async Task EncryptedByUs_IsBinaryAes256WithAnIntegrityPacketAndNoCompression()
    {
        var database = await CreateSqliteFileAsync(transmissions: 200);
        var (_, publicKeyFile) = await CreateKeyAsync();
        var encryption = await StartEncryptionAsync(publicKeyFile);
        var encryptedPath = Path.Combine(Workspace.DownloadDirectory, "corescope-backup.db.gpg");

        await encryption.EncryptAsync(database, encryptedPath, CancellationToken.None);

        var packets = await Gpg.ListPacketsAsync(encryptedPath);
        (await File.ReadAllBytesAsync(encryptedPath))[0].Should().BeGreaterThanOrEqualTo(0x80, "a binary packet header, not armor");
        packets.Should().Contain(":encrypted data packet:").And.Contain("mdc_method: 2", "SEIPD v1 with the SHA-1 MDC, which gpg 2.2 reads");
        packets.Should().Contain("AES256", "the session key's cipher (gpg --verbose names it)");
        packets.Should().Contain(":literal data packet:").And.Contain("mode b", "binary: gpg gives back the bytes unchanged");
        packets.Should().NotContain(":compressed packet:", "the payload is a .db.gz or a .db its owner chose not to compress");
    }

    [TestCase("default")]
    [TestCase("future-default")]
    public async Task EncryptedByGpg_WeDecrypt_WithTheExportedPrivateKeyAndPassphrase(string algorithm)
    {
        var database = await CreateSqliteFileAsync();
        var (fingerprint, _) = await CreateKeyAsync(algorithm: algorithm);
        var encryptedPath = Path.Combine(Workspace.DownloadDirectory, "by-gpg.db.gpg");
        await Gpg.EncryptAsync(database, encryptedPath, fingerprint);
        var key = new OffsiteDecryptionKey(await Gpg.ExportPrivateKeyAsync(fingerprint), GpgHome.Passphrase);

        // The restore on a fresh box has no public key configured: decryption needs none.
        var encryption = await StartEncryptionAsync(publicKeyFile: null);
        var decryptedPath = Path.Combine(Workspace.DownloadDirectory, "decrypted-by-us.db");
        var decrypted = await encryption.DecryptAsync(encryptedPath, decryptedPath, key, CancellationToken.None);

        decrypted.Path.Should().Be(decryptedPath);
        decrypted.Sha256.Should().Be(Sha256Of(database)).And.Be(Sha256Of(decryptedPath));
        decrypted.SizeBytes.Should().Be(new FileInfo(database).Length);
        decrypted.EncryptedSha256.Should().Be(Sha256Of(encryptedPath));
        decrypted.EncryptedSizeBytes.Should().Be(new FileInfo(encryptedPath).Length);
        FileNames(Workspace.DownloadDirectory).Should().Equal("by-gpg.db.gpg", "corescope-backup.db", "decrypted-by-us.db");
        TestDatabase.IntegrityCheck(decryptedPath).Should().Be("ok");
    }

    [Test]
    public async Task EncryptedByUs_WeDecrypt_AndBothDigestsMatchTheEncryptionsReport()
    {
        var database = await CreateSqliteFileAsync();
        var (fingerprint, publicKeyFile) = await CreateKeyAsync();
        var encryption = await StartEncryptionAsync(publicKeyFile);
        var encryptedPath = Path.Combine(Workspace.DownloadDirectory, "corescope-backup.db.gpg");
        var encrypted = await encryption.EncryptAsync(database, encryptedPath, CancellationToken.None);
        var key = new OffsiteDecryptionKey(await Gpg.ExportPrivateKeyAsync(fingerprint), GpgHome.Passphrase);

        var decrypted = await encryption.DecryptAsync(encryptedPath, Path.Combine(Workspace.DownloadDirectory, "back.db"), key, CancellationToken.None);

        decrypted.Sha256.Should().Be(encrypted.PlainSha256);
        decrypted.EncryptedSha256.Should().Be(encrypted.Sha256);
        decrypted.SizeBytes.Should().Be(encrypted.PlainSizeBytes);
    }

    [Test]
    public async Task AFileWithTwoPublicKeys_EncryptsToBoth_AndEitherPrivateKeyDecrypts()
    {
        var database = await CreateSqliteFileAsync(transmissions: 300);
        var (first, firstFile) = await CreateKeyAsync("Operator One");
        var (second, secondFile) = await CreateKeyAsync("Operator Two");
        var both = Path.Combine(Workspace.Root, "operators.asc");
        await File.WriteAllTextAsync(both, await File.ReadAllTextAsync(firstFile) + await File.ReadAllTextAsync(secondFile));
        var encryption = await StartEncryptionAsync(both);
        var encryptedPath = Path.Combine(Workspace.DownloadDirectory, "corescope-backup.db.gpg");

        var encrypted = await encryption.EncryptAsync(database, encryptedPath, CancellationToken.None);

        encrypted.RecipientFingerprints.Should().BeEquivalentTo(first, second);
        foreach (var fingerprint in new[] { first, second })
        {
            var key = new OffsiteDecryptionKey(await Gpg.ExportPrivateKeyAsync(fingerprint), GpgHome.Passphrase);
            var decrypted = await encryption.DecryptAsync(encryptedPath, Path.Combine(Workspace.DownloadDirectory, fingerprint + ".db"), key, CancellationToken.None);
            decrypted.Sha256.Should().Be(encrypted.PlainSha256);
        }
    }

    [Test]
    public async Task Encrypt_CancelledWhileWriting_ThrowsAndLeavesNoFile()
    {
        var input = CreateRandomFile(256L * 1024 * 1024);
        var (_, publicKeyFile) = await CreateKeyAsync();
        var encryption = await StartEncryptionAsync(publicKeyFile);
        var encryptedPath = Path.Combine(Workspace.DownloadDirectory, "random.bin.gpg");
        using var cancellation = new CancellationTokenSource();

        var encrypting = encryption.EncryptAsync(input, encryptedPath, cancellation.Token);
        await Eventually.TrueAsync(
            () => Task.FromResult(File.Exists(encryptedPath + ".partial") && new FileInfo(encryptedPath + ".partial").Length > 0), "the encrypted file to grow");
        await cancellation.CancelAsync();

        await encrypting.Awaiting(task => task).Should().ThrowAsync<OperationCanceledException>();
        FileNames(Workspace.DownloadDirectory).Should().Equal("random.bin");
    }
}
