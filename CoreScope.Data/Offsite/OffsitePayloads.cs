using System.Text.Json;
using CoreScope.Data.Backup;
using CoreScope.Data.Offsite.Encryption;
using CoreScope.Data.Restore;
using CoreScope.Data.Store;

namespace CoreScope.Data.Offsite;

/// <summary>
/// What leaves the box: the stored file as it is, or, with <c>CoreScope:Offsite:Encrypt:PublicKeyFile</c> set, that
/// file encrypted to the operator's OpenPGP key as <c>{name}.gpg</c>. The manifest's entry then says so and gives the
/// plain form's SHA-256 and size beside the sent form's, so a restore knows to ask for the key and an operator who
/// decrypted by hand can compare. Coming back, a copy whose entry says <c>openpgp</c> is decrypted with the key the
/// operator supplied for that restore.
/// </summary>
public sealed class OffsitePayloads(OffsiteEncryption encryption) : IOffsitePayloads
{
    /// <summary>The entry's members for an encrypted copy (docs/offsite.md "Encryption").</summary>
    public const string EncryptionMember = "encryption";
    public const string OpenPgp = "openpgp";
    public const string PlainSha256Member = "plainSha256";
    public const string PlainSizeBytesMember = "plainSizeBytes";
    public const string RecipientsMember = "recipients";

    /// <summary>The suffix of an encrypted copy's name, as gpg names what it encrypts.</summary>
    public const string EncryptedSuffix = ".gpg";

    public async Task<OffsitePayload> PrepareAsync(BackupManifest manifest, string storedFile, string workFolder, CancellationToken cancellationToken)
    {
        if (!encryption.IsEnabled)
        {
            return new OffsitePayload(storedFile, manifest.FileName);
        }

        var objectName = manifest.FileName + EncryptedSuffix;
        var encrypted = await encryption.EncryptAsync(storedFile, Path.Combine(workFolder, objectName), cancellationToken);

        // The plain digest is taken in the same pass that encrypted: a file that changed since it was stored would be
        // encrypted faithfully and restore as something else, so it is caught here as the plain upload catches it.
        if (!string.Equals(encrypted.PlainSha256, manifest.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new StoredBackupDamagedException(
                $"The stored file of backup {manifest.Id} changed before it was encrypted (SHA-256 {encrypted.PlainSha256}, its manifest says {manifest.Sha256}).");
        }

        var extensions = new Dictionary<string, JsonElement>
        {
            [EncryptionMember] = JsonSerializer.SerializeToElement(OpenPgp),
            [PlainSha256Member] = JsonSerializer.SerializeToElement(encrypted.PlainSha256),
            [PlainSizeBytesMember] = JsonSerializer.SerializeToElement(encrypted.PlainSizeBytes),
            [RecipientsMember] = JsonSerializer.SerializeToElement(encrypted.RecipientFingerprints),
        };
        return new OffsitePayload(encrypted.Path, objectName, extensions, encrypted.Sha256);
    }

    public async Task<string> OpenAsync(OffsiteCopy copy, string downloadedFile, string workFolder, OffsiteDecryptionKey? key, CancellationToken cancellationToken)
    {
        if (copy.Extensions is null || !copy.Extensions.TryGetValue(EncryptionMember, out var method))
        {
            return downloadedFile;
        }

        if (method.ValueKind != JsonValueKind.String || method.GetString() != OpenPgp)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The copy {copy.Key} on {copy.Target} is encrypted with \"{method}\", which this server does not know; nothing was changed.");
        }

        if (key is null)
        {
            var recipients = copy.Extensions.TryGetValue(RecipientsMember, out var list) && list.ValueKind == JsonValueKind.Array
                ? " to " + string.Join(", ", list.EnumerateArray().Select(item => item.ToString()))
                : "";
            throw new RestoreFailedException(RestoreFailure.BadRequest,
                $"The copy {copy.Key} on {copy.Target} is encrypted with OpenPGP{recipients}; send its private key and passphrase as the JSON body " +
                "{\"privateKey\": \"-----BEGIN PGP PRIVATE KEY BLOCK-----…\", \"passphrase\": \"…\"} with Content-Type: application/json " +
                "(offline: restore --from-offsite … --private-key-file <file> --passphrase-file <file>). Nothing was changed.");
        }

        var plainPath = Path.Combine(workFolder, "decrypted");
        try
        {
            var decrypted = await encryption.DecryptAsync(downloadedFile, plainPath, key, cancellationToken);

            // The encrypted file is no longer needed: the staging folder then holds one form of the backup, not two.
            StagingFiles.TryDelete(downloadedFile);
            return decrypted.Path;
        }
        catch (OffsiteDecryptionKeyException exception)
        {
            throw new RestoreFailedException(RestoreFailure.BadRequest, exception.Message + " Nothing was changed.", exception);
        }
        catch (EncryptedFileDamagedException exception)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable, exception.Message + " Nothing was changed; restore another copy.", exception);
        }
    }
}
