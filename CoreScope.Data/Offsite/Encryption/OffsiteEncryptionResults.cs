namespace CoreScope.Data.Offsite.Encryption;

/// <summary>
/// An encrypted file and the digests of both forms, taken in the one pass that wrote it: <see cref="Sha256"/> is what
/// the storage service holds (and checks an upload against), <see cref="PlainSha256"/> what <c>gpg --decrypt</c>
/// gives back, equal to the stored backup's own SHA-256. Hex digests are lowercase, as in the manifests.
/// </summary>
public sealed record EncryptedFile(string Path, long SizeBytes, string Sha256, long PlainSizeBytes, string PlainSha256, string[] RecipientFingerprints);

/// <summary>A decrypted file with its digest, and the digest of the encrypted file it came from (the same pass).</summary>
public sealed record DecryptedFile(string Path, long SizeBytes, string Sha256, long EncryptedSizeBytes, string EncryptedSha256);

/// <summary>
/// The operator's private key and its passphrase, for one decryption only: the caller holds it for one request and
/// nothing stores it. <see cref="ToString"/> shows neither, so a log line or a debugger display that prints the
/// object prints no key material.
/// </summary>
public sealed class OffsiteDecryptionKey(string armoredPrivateKey, string passphrase)
{
    /// <summary>The private key as <c>gpg --export-secret-keys --armor</c> writes it.</summary>
    public string ArmoredPrivateKey { get; } = armoredPrivateKey;

    public string Passphrase { get; } = passphrase;

    public override string ToString() => "OffsiteDecryptionKey (redacted)";
}
