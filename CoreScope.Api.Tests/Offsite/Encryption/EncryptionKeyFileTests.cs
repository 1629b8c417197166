using CoreScope.Api.Infrastructure;
using CoreScope.Data.Offsite.Encryption;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace CoreScope.Api.Tests.Offsite.Encryption;

/// <summary>
/// docs/offsite.md "Encryption", "What goes on the box": <c>CoreScope:Offsite:Encrypt:PublicKeyFile</c> is read at
/// start, and a file that cannot be encrypted to stops the server with one line naming the setting and the file.
/// </summary>
public sealed class EncryptionKeyFileTests : EncryptionTests
{
    [Test]
    public async Task AMissingFile_StopsTheStart_NamingTheSettingAndThePath()
    {
        var refusal = await RefusalAsync("keys/nowhere.asc");

        refusal.Should().Contain(OffsiteEncryptionOptions.PublicKeyFileSetting)
            .And.Contain(Path.Combine(Workspace.Root, "keys", "nowhere.asc"), "a relative path is taken from the content root")
            .And.Contain("does not exist");
    }

    [Test]
    public async Task APrivateKey_StopsTheStart_SayingOnlyThePublicKeyBelongsOnTheBox()
    {
        var fingerprint = await Gpg.GenerateKeyAsync("CoreScope Offsite");
        var armoredPrivateKey = await Gpg.ExportPrivateKeyAsync(fingerprint);
        await File.WriteAllTextAsync(Path.Combine(Workspace.Root, "offsite.asc"), armoredPrivateKey);

        var refusal = await RefusalAsync("offsite.asc");

        refusal.Should().Contain("holds a private key").And.Contain("only the public key");
        refusal.Should().NotContain(armoredPrivateKey.Split('\n')[3], "no key material in the message");
    }

    [TestCase("garbage", "is not an armored OpenPGP public key")]
    [TestCase("binary", "is not an armored OpenPGP public key")]
    [TestCase("broken armor", "could not be read as an OpenPGP public key")]
    [TestCase("empty", "is not an armored OpenPGP public key")]
    public async Task NotAnArmoredPublicKey_StopsTheStart(string what, string expected)
    {
        var path = Path.Combine(Workspace.Root, "offsite.asc");
        switch (what)
        {
            case "garbage":
                await File.WriteAllTextAsync(path, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG operator@laptop\n");
                break;
            case "binary":
                // What gpg --export writes without --armor: the armor's body, decoded.
                var (_, armored) = await CreateKeyAsync();
                var body = (await File.ReadAllTextAsync(armored)).Split('\n')
                    .SkipWhile(line => line.Length > 0).Skip(1).TakeWhile(line => !line.StartsWith('=') && !line.StartsWith('-'));
                await File.WriteAllBytesAsync(path, Convert.FromBase64String(string.Concat(body)));
                break;
            case "broken armor":
                await File.WriteAllTextAsync(path, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5IGF0IGFsbA==\n-----END PGP PUBLIC KEY BLOCK-----\n");
                break;
            default:
                await File.WriteAllTextAsync(path, "");
                break;
        }

        var refusal = await RefusalAsync("offsite.asc");

        refusal.Should().Contain(OffsiteEncryptionOptions.PublicKeyFileSetting).And.Contain(expected).And.Contain("gpg --export --armor");
    }

    [Test]
    public async Task AKeyWithoutAnEncryptionSubkey_StopsTheStart()
    {
        var fingerprint = await Gpg.GenerateKeyAsync("Signing Only", algorithm: "rsa2048", usage: "sign");
        await Gpg.ExportPublicKeyAsync(fingerprint, Path.Combine(Workspace.Root, "offsite.asc"));

        var refusal = await RefusalAsync("offsite.asc");

        refusal.Should().Contain(fingerprint).And.Contain("no subkey allowed to encrypt").And.Contain("gpg --quick-add-key");
    }

    [Test]
    public async Task AnExpiredKey_StopsTheStart()
    {
        var fingerprint = await Gpg.GenerateKeyAsync("Short Lived", expire: "1y");
        await Gpg.ExportPublicKeyAsync(fingerprint, Path.Combine(Workspace.Root, "offsite.asc"));
        var twoYearsOn = new FakeTimeProvider(DateTimeOffset.UtcNow.AddYears(2));

        var refusal = await RefusalAsync("offsite.asc", twoYearsOn);

        refusal.Should().Contain(fingerprint).And.Contain("expired on").And.Contain("gpg --quick-set-expire");
    }

    [Test]
    public async Task ARevokedKey_StopsTheStart()
    {
        var fingerprint = await Gpg.GenerateKeyAsync("Revoked");
        await Gpg.RevokeAsync(fingerprint);
        await Gpg.ExportPublicKeyAsync(fingerprint, Path.Combine(Workspace.Root, "offsite.asc"));

        var refusal = await RefusalAsync("offsite.asc");

        refusal.Should().Contain(fingerprint).And.Contain("is revoked");
    }

    [Test]
    public async Task NoSetting_TurnsEncryptionOff()
    {
        var encryption = await StartEncryptionAsync(publicKeyFile: "");

        encryption.IsEnabled.Should().BeFalse();
        var encrypting = () => encryption.EncryptAsync("any.db", "any.db.gpg", CancellationToken.None);
        (await encrypting.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("IsEnabled");
    }

    [Test]
    public async Task ARelativePath_IsTakenFromTheContentRoot()
    {
        Directory.CreateDirectory(Path.Combine(Workspace.Root, "keys"));
        var fingerprint = await Gpg.GenerateKeyAsync("CoreScope Offsite");
        await Gpg.ExportPublicKeyAsync(fingerprint, Path.Combine(Workspace.Root, "keys", "offsite.asc"));

        var encryption = await StartEncryptionAsync("keys/offsite.asc");

        encryption.IsEnabled.Should().BeTrue();
        encryption.PublicKeyPath.Should().Be(Path.Combine(Workspace.Root, "keys", "offsite.asc"));
    }

    [Test]
    public async Task AKeyThatExpiresAfterTheStart_FailsTheCopyWithTheReason_AndWarnsBeforeThat()
    {
        var database = await CreateSqliteFileAsync(transmissions: 100);
        var fingerprint = await Gpg.GenerateKeyAsync("Short Lived", expire: "1y");
        await Gpg.ExportPublicKeyAsync(fingerprint, Path.Combine(Workspace.Root, "offsite.asc"));
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var encryption = await StartEncryptionAsync("offsite.asc", clock);
        var encryptedPath = Path.Combine(Workspace.DownloadDirectory, "corescope-backup.db.gpg");

        clock.Advance(TimeSpan.FromDays(365 - 10));
        await encryption.EncryptAsync(database, encryptedPath, CancellationToken.None);
        Logs.Lines.Select(line => line.Message).Should().Contain(line => line.Contains(fingerprint) && line.Contains("expires on"));

        File.Delete(encryptedPath);
        clock.Advance(TimeSpan.FromDays(20));
        var encrypting = () => encryption.EncryptAsync(database, encryptedPath, CancellationToken.None);
        (await encrypting.Should().ThrowAsync<OffsiteEncryptionKeyException>()).Which.Message.Should().Contain("expired on");
        FileNames(Workspace.DownloadDirectory).Should().Equal("corescope-backup.db");
    }

    /// <summary>Starts a host with the setting; returns the one line the server would end with (exit 78).</summary>
    private async Task<string> RefusalAsync(string publicKeyFile, TimeProvider? timeProvider = null)
    {
        var host = BuildHost(publicKeyFile, timeProvider);

        var starting = () => host.StartAsync();

        var thrown = (await starting.Should().ThrowAsync<OptionsValidationException>()).Which;
        return StartupChecks.Refusal(thrown) ?? throw new AssertionException("The refusal is not one an operator can fix: " + thrown);
    }
}
