using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using CoreScope.Data.Backup;
using CoreScope.Data.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Security;

namespace CoreScope.Data.Offsite.Encryption;

/// <summary>
/// Encrypts files to the operator's OpenPGP public key before they leave the box, and decrypts them with a private
/// key the operator supplies for one restore. The output is what <c>gpg --encrypt</c> writes and <c>gpg --decrypt</c>
/// reads: a binary message, AES-256, integrity-protected (SEIPD v1 with MDC, which gpg 2.2 reads), no compression.
/// Both directions stream with fixed buffers, write <c>.partial</c> and rename, and leave nothing behind on failure.
/// </summary>
public sealed class OffsiteEncryption(
    IOptions<OffsiteEncryptionOptions> options,
    IHostEnvironment environment,
    TimeProvider timeProvider,
    ILogger<OffsiteEncryption> logger)
{
    // BouncyCastle writes partial-length packets of this size as the data comes, so nothing waits for the whole file;
    // the format wants a power of two.
    private const int PacketBufferBytes = 64 * 1024;

    // The literal packet's chunks are what BouncyCastle's cipher stream is handed: up to 4 KiB it encrypts on the stack,
    // above that it allocates an array per write (200 MB: 4 MB allocated instead of 200 MB). The cost is a length byte
    // per chunk, 0.025 %.
    private const int LiteralChunkBytes = 4 * 1024;

    // An expiring key is warned about at each copy this long before it stops the copies.
    private static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(30);

    /// <summary>The public key file's full path, or null when encryption is off.</summary>
    public string? PublicKeyPath { get; } = options.Value.PublicKeyPath(environment.ContentRootPath);

    /// <summary>Whether offsite copies are to be encrypted (a public key file is configured).</summary>
    public bool IsEnabled => PublicKeyPath is not null;

    /// <summary>
    /// Encrypts <paramref name="plainPath"/> into <paramref name="encryptedPath"/> (written as <c>.partial</c>, fsynced,
    /// then renamed over any file of that name) to every key in the configured public key file. Throws
    /// <see cref="OffsiteEncryptionKeyException"/> when the key can no longer be used (it expired since start).
    /// </summary>
    public async Task<EncryptedFile> EncryptAsync(string plainPath, string encryptedPath, CancellationToken cancellationToken)
    {
        var keyPath = PublicKeyPath ?? throw new InvalidOperationException(
            $"Offsite encryption is off ({OffsiteEncryptionOptions.PublicKeyFileSetting} is empty); check IsEnabled first.");

        // Read again for every file: a key replaced on disk (a new expiry, a new subkey) is used without a restart, and
        // one that expired since start fails this copy with the reason, as gpg would refuse to encrypt to it.
        var now = timeProvider.GetUtcNow();
        var recipients = OpenPgpRecipients.Load(keyPath, now);
        foreach (var recipient in recipients.Where(recipient => recipient.ExpiresAt - now < ExpiryWarning))
        {
            logger.LogWarning(
                "The offsite encryption key {Fingerprint} expires on {ExpiresAt:u}; after that offsite copies fail. Extend it and export it again (docs/offsite.md, Encryption)",
                recipient.Fingerprint, recipient.ExpiresAt);
        }

        var partialPath = StoreFiles.Partial(encryptedPath);
        var started = Stopwatch.GetTimestamp();
        try
        {
            // BouncyCastle's OpenPGP streams are synchronous: the pass runs on one pool thread and checks the token
            // between blocks.
            var written = await Task.Run(() => Encrypt(recipients, plainPath, partialPath, cancellationToken), cancellationToken);
            File.Move(partialPath, encryptedPath, overwrite: true);
            StoreFiles.FlushFolder(Path.GetDirectoryName(Path.GetFullPath(encryptedPath))!);
            var result = written with { Path = encryptedPath };
            logger.LogInformation(
                "Encrypted {File} ({PlainBytes} bytes) to {Recipients} in {ElapsedMs} ms: {EncryptedBytes} bytes",
                Path.GetFileName(plainPath), result.PlainSizeBytes, string.Join(", ", result.RecipientFingerprints),
                (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, result.SizeBytes);
            return result;
        }
        catch
        {
            StagingFiles.TryDelete(partialPath);
            throw;
        }
    }

    /// <summary>
    /// Decrypts <paramref name="encryptedPath"/> (binary or armored) into <paramref name="plainPath"/> with
    /// <paramref name="key"/>, checking the integrity packet before the output is renamed into place. Throws
    /// <see cref="OffsiteDecryptionKeyException"/> when the key or passphrase does not open the file (the operator's
    /// input: 4xx) and <see cref="EncryptedFileDamagedException"/> when the file is altered, cut short or not an
    /// encrypted message; either way no output file is left.
    /// </summary>
    public async Task<DecryptedFile> DecryptAsync(string encryptedPath, string plainPath, OffsiteDecryptionKey key, CancellationToken cancellationToken)
    {
        var privateKeys = ReadPrivateKeys(key.ArmoredPrivateKey);
        var partialPath = StoreFiles.Partial(plainPath);
        var started = Stopwatch.GetTimestamp();
        try
        {
            var written = await Task.Run(() => Decrypt(encryptedPath, partialPath, privateKeys, key.Passphrase, cancellationToken), cancellationToken);
            File.Move(partialPath, plainPath, overwrite: true);
            StoreFiles.FlushFolder(Path.GetDirectoryName(Path.GetFullPath(plainPath))!);
            var result = written with { Path = plainPath };
            logger.LogInformation(
                "Decrypted {File} ({EncryptedBytes} bytes) in {ElapsedMs} ms: {PlainBytes} bytes, integrity check passed",
                Path.GetFileName(encryptedPath), result.EncryptedSizeBytes, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, result.SizeBytes);
            return result;
        }
        catch
        {
            StagingFiles.TryDelete(partialPath);
            throw;
        }
    }

    private static EncryptedFile Encrypt(IReadOnlyList<OpenPgpRecipient> recipients, string plainPath, string partialPath, CancellationToken cancellationToken)
    {
        using var plain = new FileStream(plainPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        using var plainHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var file = new FileStream(partialPath, FileMode.Create, FileAccess.Write, FileShare.None, PacketBufferBytes);
        using var encryptedOutput = new Sha256Stream(file, leaveOpen: true);

        // AES-256 with the integrity packet (MDC): gpg 2.2 decrypts it and warns on nothing; without the MDC it refuses.
        var generator = new PgpEncryptedDataGenerator(SymmetricKeyAlgorithmTag.Aes256, withIntegrityPacket: true, new SecureRandom());
        foreach (var recipient in recipients)
        {
            generator.AddMethod(recipient.EncryptionKey);
        }

        // No compression packet: the payload is a .db.gz, which does not shrink again, or a .db whose owner chose not to
        // compress it; the store's gzip uses every core (ParallelGzip), BouncyCastle's zlib one. The literal packet is
        // binary, so gpg gives back the bytes unchanged.
        using (var encrypted = generator.Open(encryptedOutput, new byte[PacketBufferBytes]))
        using (var literal = new PgpLiteralDataGenerator().Open(
                   encrypted, PgpLiteralData.Binary, Path.GetFileName(plainPath), File.GetLastWriteTimeUtc(plainPath), new byte[LiteralChunkBytes]))
        {
            var buffer = new byte[StagingFiles.CopyBufferBytes];
            int read;
            while ((read = plain.Read(buffer)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                plainHash.AppendData(buffer, 0, read);
                literal.Write(buffer, 0, read);
            }
        }

        file.Flush(flushToDisk: true);
        return new EncryptedFile(
            partialPath, encryptedOutput.BytesPassed, encryptedOutput.Sha256Hex(), plain.Length, Convert.ToHexStringLower(plainHash.GetCurrentHash()),
            recipients.Select(recipient => recipient.Fingerprint).ToArray());
    }

    private static DecryptedFile Decrypt(string encryptedPath, string partialPath, PgpSecretKeyRingBundle privateKeys, string passphrase, CancellationToken cancellationToken)
    {
        using var file = new FileStream(encryptedPath, FileMode.Open, FileAccess.Read, FileShare.Read, PacketBufferBytes, FileOptions.SequentialScan);
        var armored = file.ReadByte() == '-';
        file.Position = 0;
        using var encryptedInput = new Sha256Stream(file, leaveOpen: true);
        var name = Path.GetFileName(encryptedPath);

        var encryptedData = Damaged(name, () => EncryptedDataOf(armored ? new ArmoredInputStream(encryptedInput) : encryptedInput, name));
        var (data, privateKey) = Unlock(encryptedData, privateKeys, passphrase);
        if (!data.IsIntegrityProtected())
        {
            // Without the MDC a change to the ciphertext changes the plaintext undetected; gpg 2.2 refuses such files too.
            throw new EncryptedFileDamagedException(
                $"{name} is encrypted without an integrity check (no MDC), so an alteration could not be detected; it is refused.");
        }

        var literal = Damaged(name, () => LiteralDataOf(data.GetDataStream(privateKey), name));
        using var plainHash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long plainBytes = 0;
        using (var output = new FileStream(partialPath, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            using var content = literal.GetInputStream();
            var buffer = new byte[StagingFiles.CopyBufferBytes];
            int read;
            while ((read = Damaged(name, () => content.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false))) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                plainHash.AppendData(buffer, 0, read);
                output.Write(buffer, 0, read);
                plainBytes += read;
            }

            // The MDC follows the data: only now is it known that every byte written above is the one encrypted.
            if (!Damaged(name, data.Verify))
            {
                throw new EncryptedFileDamagedException(
                    $"{name} failed its integrity check (MDC): it was altered after it was encrypted. Nothing decrypted from it is kept; use another copy.");
            }

            output.Flush(flushToDisk: true);
        }

        // Whatever follows the message (nothing, from gpg or from us) still belongs to the file's digest.
        Damaged(name, () => encryptedInput.CopyTo(Stream.Null));
        return new DecryptedFile(partialPath, plainBytes, Convert.ToHexStringLower(plainHash.GetCurrentHash()), encryptedInput.BytesPassed, encryptedInput.Sha256Hex());
    }

    private static PgpSecretKeyRingBundle ReadPrivateKeys(string armoredPrivateKey)
    {
        const string Expected = "The private key must be armored, as gpg --export-secret-keys --armor KEY-ID writes it.";
        if (!armoredPrivateKey.Contains("-----BEGIN PGP PRIVATE KEY BLOCK-----", StringComparison.Ordinal))
        {
            var what = armoredPrivateKey.Contains("-----BEGIN PGP PUBLIC KEY BLOCK-----", StringComparison.Ordinal)
                ? "The key supplied is a public key, which cannot decrypt."
                : "The key supplied is not an OpenPGP private key.";
            throw new OffsiteDecryptionKeyException($"{what} {Expected}");
        }

        try
        {
            using var armored = new ArmoredInputStream(new MemoryStream(Encoding.UTF8.GetBytes(armoredPrivateKey)));
            var bundle = new PgpSecretKeyRingBundle(armored);
            return bundle.Count > 0 ? bundle : throw new PgpException("no secret key ring");
        }
        catch (Exception exception) when (exception is IOException or PgpException or ArgumentException)
        {
            // BouncyCastle's message is left out: it may quote the packet it stopped at.
            throw new OffsiteDecryptionKeyException($"The private key supplied could not be read. {Expected}");
        }
    }

    private static PgpEncryptedDataList EncryptedDataOf(Stream input, string name)
    {
        var objects = new PgpObjectFactory(input);
        var next = objects.NextPgpObject();
        while (next is PgpMarker)
        {
            next = objects.NextPgpObject();
        }

        return next as PgpEncryptedDataList
            ?? throw new EncryptedFileDamagedException($"{name} is not an OpenPGP encrypted message (found {next?.GetType().Name ?? "nothing"}).");
    }

    private static (PgpPublicKeyEncryptedData Data, PgpPrivateKey PrivateKey) Unlock(
        PgpEncryptedDataList encryptedData, PgpSecretKeyRingBundle privateKeys, string passphrase)
    {
        var sessionKeys = encryptedData.GetEncryptedDataObjects().OfType<PgpPublicKeyEncryptedData>().ToList();
        foreach (var sessionKey in sessionKeys)
        {
            var secretKey = privateKeys.GetSecretKey(sessionKey.KeyId);
            if (secretKey is null)
            {
                continue;
            }

            // gpg hashes the passphrase's UTF-8 bytes; BouncyCastle's plain overload would drop the high byte of each char.
            var characters = passphrase.ToCharArray();
            try
            {
                return (sessionKey, secretKey.ExtractPrivateKeyUtf8(characters));
            }
            catch (PgpException)
            {
                throw new OffsiteDecryptionKeyException(
                    $"The passphrase does not unlock the private key {KeyId(sessionKey.KeyId)} the file is encrypted to. Check the passphrase and try again.");
            }
            finally
            {
                Array.Clear(characters);
            }
        }

        if (sessionKeys.Count == 0)
        {
            throw new OffsiteDecryptionKeyException("The file is encrypted with a passphrase only, not to a public key; CoreScope's copies never are.");
        }

        var wanted = string.Join(", ", sessionKeys.Select(sessionKey => KeyId(sessionKey.KeyId)));
        var given = string.Join(", ", privateKeys.GetKeyRings().SelectMany(ring => ring.GetSecretKeys()).Select(secretKey => KeyId(secretKey.KeyId)));
        throw new OffsiteDecryptionKeyException(
            $"The file is encrypted to the key {wanted}, and the private key supplied has {given}: supply the private key whose public key " +
            $"{OffsiteEncryptionOptions.PublicKeyFileSetting} named when the copy was made.");
    }

    private static PgpLiteralData LiteralDataOf(Stream decrypted, string name)
    {
        var objects = new PgpObjectFactory(decrypted);
        var next = objects.NextPgpObject();

        // gpg compresses by default and may sign as well; the content is the literal packet inside either.
        if (next is PgpCompressedData compressed)
        {
            objects = new PgpObjectFactory(compressed.GetDataStream());
            next = objects.NextPgpObject();
        }

        if (next is PgpOnePassSignatureList)
        {
            next = objects.NextPgpObject();
        }

        return next as PgpLiteralData
            ?? throw new EncryptedFileDamagedException($"{name} decrypted to no file content (found {next?.GetType().Name ?? "nothing"}).");
    }

    // What BouncyCastle throws while it reads a damaged or cut-short message, said as one thing.
    private static T Damaged<T>(string name, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception exception) when (exception is IOException or PgpException or CryptoException or InvalidDataException or ArgumentException or IndexOutOfRangeException)
        {
            throw new EncryptedFileDamagedException(
                $"{name} is damaged or cut short and cannot be decrypted ({exception.Message}). Nothing decrypted from it is kept; use another copy.", exception);
        }
    }

    private static void Damaged(string name, Action read) => Damaged(name, () =>
    {
        read();
        return 0;
    });

    private static string KeyId(long keyId) => keyId.ToString("X16", System.Globalization.CultureInfo.InvariantCulture);
}
