using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace CoreScope.Data.Offsite.Signing;

/// <summary>The OpenPGP key the box signs with: the unlocked private key and its public half (for the algorithm and the key id).</summary>
internal sealed record OpenPgpSigner(PgpPrivateKey PrivateKey, PgpPublicKey PublicKey);

/// <summary>
/// The keys the settings name, read once: an HMAC key (from the setting, from the key file, or none yet: it is made on
/// the first copy), or the OpenPGP signer and the public keys that signatures are checked with.
/// </summary>
internal sealed partial class OffsiteSigningKeys
{
    /// <summary>At least as long as the hash's output, as RFC 2104 advises; the made key is exactly this long.</summary>
    public const int MinHmacKeyBytes = 32;

    // A key is a few KB; anything this large is another file named by mistake (the database).
    private const long MaxKeyFileBytes = 1024 * 1024;

    private const string PublicHint = "Export it with: gpg --export --armor KEY-ID > corescope-signing.asc";
    private const string PrivateHint = "Export it with: gpg --export-secret-keys --armor KEY-ID > corescope-signing-PRIVATE.asc";

    private readonly Lock _making = new();

    private OffsiteSigningKeys(string hmacKeyFile, byte[]? hmacKey, OpenPgpSigner? signer, IReadOnlyList<PgpPublicKey>? verifiers)
    {
        HmacKeyFile = hmacKeyFile;
        HmacKey = hmacKey;
        Signer = signer;
        Verifiers = verifiers;
    }

    /// <summary>Where the HMAC key is kept when the setting is empty: beside the database.</summary>
    public string HmacKeyFile { get; }

    /// <summary>The HMAC key, or null when HMAC is used and no key exists yet (or OpenPGP is used).</summary>
    public byte[]? HmacKey { get; private set; }

    /// <summary>The OpenPGP signer, or null (HMAC, or a machine that only checks).</summary>
    public OpenPgpSigner? Signer { get; }

    /// <summary>The OpenPGP keys signatures are checked with, every key and subkey of the public key file; null for HMAC.</summary>
    public IReadOnlyList<PgpPublicKey>? Verifiers { get; }

    public bool UsesOpenPgp => Verifiers is not null;

    [GeneratedRegex("-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex ArmoredPublicKeyBlock();

    /// <summary>The keys <paramref name="options"/> name, or <see cref="OffsiteSigningKeyException"/> saying what is wrong.</summary>
    public static OffsiteSigningKeys Load(OffsiteSigningOptions options, string contentRootPath, string databasePath)
    {
        var keyFile = Path.Combine(Path.GetDirectoryName(databasePath)!, OffsiteSigningOptions.KeyFileName);
        if (!options.UsesOpenPgp)
        {
            return new OffsiteSigningKeys(keyFile, string.IsNullOrWhiteSpace(options.Key) ? ReadHmacKeyFile(keyFile) : DecodeHmacKey(options.Key, OffsiteSigningOptions.KeySetting), null, null);
        }

        if (!string.IsNullOrWhiteSpace(options.Key))
        {
            throw new OffsiteSigningKeyException(
                $"{OffsiteSigningOptions.KeySetting} (HMAC) and an OpenPGP key ({OffsiteSigningOptions.PrivateKeyFileSetting}, {OffsiteSigningOptions.PublicKeyFileSetting}) are both set; choose one.");
        }

        var signer = string.IsNullOrWhiteSpace(options.PrivateKeyFile)
            ? null
            : ReadSigner(OffsiteSigningOptions.FullPath(options.PrivateKeyFile, contentRootPath)!, ReadPassphrase(options, contentRootPath));
        if (string.IsNullOrWhiteSpace(options.PublicKeyFile))
        {
            throw new OffsiteSigningKeyException(
                $"{OffsiteSigningOptions.PublicKeyFileSetting} is empty: with {OffsiteSigningOptions.PrivateKeyFileSetting} set, name the public key the signatures are checked with " +
                $"(the one a new machine gets). {PublicHint}");
        }

        var publicPath = OffsiteSigningOptions.FullPath(options.PublicKeyFile, contentRootPath)!;
        var verifiers = ReadPublicKeys(publicPath);
        if (signer is not null && !verifiers.Any(key => key.KeyId == signer.PublicKey.KeyId))
        {
            throw new OffsiteSigningKeyException(
                $"{OffsiteSigningOptions.PublicKeyFileSetting}: {publicPath} does not hold the public key of the signing key {KeyId(signer.PublicKey.KeyId)} " +
                $"in {OffsiteSigningOptions.PrivateKeyFileSetting}, so every manifest signed here would be refused. Export the public key of the same key pair. {PublicHint}");
        }

        return new OffsiteSigningKeys(keyFile, null, signer, verifiers);
    }

    /// <summary>
    /// The HMAC key, made on first use: 32 random bytes, base64 in <see cref="HmacKeyFile"/>, readable by the server's
    /// user alone (0600). Two copies making it at once: one creates the file, the other reads it.
    /// </summary>
    public byte[] HmacKeyOrCreate()
    {
        if (HmacKey is { } key)
        {
            return key;
        }

        lock (_making)
        {
            if (HmacKey is not null)
            {
                return HmacKey;
            }

            var made = RandomNumberGenerator.GetBytes(MinHmacKeyBytes);
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            try
            {
                using (var stream = new FileStream(HmacKeyFile, fileOptions))
                {
                    stream.Write(Encoding.ASCII.GetBytes(Convert.ToBase64String(made) + "\n"));
                    stream.Flush(flushToDisk: true);
                }

                HmacKey = made;
            }
            catch (IOException) when (File.Exists(HmacKeyFile))
            {
                // Made by another process meanwhile (a restore command beside the server): that one is the key.
                HmacKey = ReadHmacKeyFile(HmacKeyFile);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                throw new OffsiteSigningKeyException(
                    $"The offsite signing key file {HmacKeyFile} could not be made ({exception.Message}); the server's user must be able to write the database's folder, " +
                    $"or set {OffsiteSigningOptions.KeySetting}.");
            }

            return HmacKey ?? throw new OffsiteSigningKeyException($"The signing key file {HmacKeyFile} could not be made.");
        }
    }

    /// <summary>The HMAC key if there is one: a key file made since start (by a restore command, or copied in) counts.</summary>
    public byte[]? HmacKeyIfAny()
    {
        if (HmacKey is null && File.Exists(HmacKeyFile))
        {
            lock (_making)
            {
                HmacKey ??= ReadHmacKeyFile(HmacKeyFile);
            }
        }

        return HmacKey;
    }

    private static byte[]? ReadHmacKeyFile(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        string text;
        try
        {
            text = new FileInfo(path).Length > MaxKeyFileBytes ? "" : File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new OffsiteSigningKeyException($"The offsite signing key file {path} could not be read ({exception.Message}); the server's user must be able to read it.");
        }

        return DecodeHmacKey(text, path);
    }

    private static byte[] DecodeHmacKey(string text, string where)
    {
        var buffer = new byte[text.Length];
        if (!Convert.TryFromBase64String(text.Trim(), buffer, out var length) || length < MinHmacKeyBytes)
        {
            // Never the value itself: it is the key.
            throw new OffsiteSigningKeyException(
                $"{where} is not an offsite signing key: it must be base64 of at least {MinHmacKeyBytes} bytes, such as the output of: head -c 32 /dev/urandom | base64.");
        }

        return buffer[..length];
    }

    private static string ReadPassphrase(OffsiteSigningOptions options, string contentRootPath)
    {
        if (!string.IsNullOrEmpty(options.Passphrase) && !string.IsNullOrWhiteSpace(options.PassphraseFile))
        {
            throw new OffsiteSigningKeyException($"{OffsiteSigningOptions.PassphraseSetting} and {OffsiteSigningOptions.PassphraseFileSetting} are both set; choose one.");
        }

        if (string.IsNullOrWhiteSpace(options.PassphraseFile))
        {
            return options.Passphrase ?? "";
        }

        var path = OffsiteSigningOptions.FullPath(options.PassphraseFile, contentRootPath)!;
        try
        {
            // The first line, as for gpg --passphrase-file: the line break an editor adds is not part of it.
            using var reader = new StreamReader(path, Encoding.UTF8);
            return reader.ReadLine() ?? "";
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new OffsiteSigningKeyException($"{OffsiteSigningOptions.PassphraseFileSetting}: {path} could not be read ({exception.Message}).");
        }
    }

    private static string ReadKeyFile(string setting, string path, string hint)
    {
        if (!File.Exists(path))
        {
            throw new OffsiteSigningKeyException($"{setting}: {path} does not exist. {hint}");
        }

        if (new FileInfo(path).Length > MaxKeyFileBytes)
        {
            throw new OffsiteSigningKeyException($"{setting}: {path} is larger than 1 MB, so it is not an OpenPGP key. {hint}");
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new OffsiteSigningKeyException($"{setting}: {path} could not be read ({exception.Message}); the server's user must be able to read it.");
        }
    }

    private static OpenPgpSigner ReadSigner(string path, string passphrase)
    {
        var setting = OffsiteSigningOptions.PrivateKeyFileSetting;
        var text = ReadKeyFile(setting, path, PrivateHint);
        if (!text.Contains("-----BEGIN PGP PRIVATE KEY BLOCK-----", StringComparison.Ordinal))
        {
            throw new OffsiteSigningKeyException($"{setting}: {path} is not an armored OpenPGP private key (no -----BEGIN PGP PRIVATE KEY BLOCK----- line). {PrivateHint}");
        }

        PgpSecretKeyRingBundle bundle;
        try
        {
            using var armored = new ArmoredInputStream(new MemoryStream(Encoding.UTF8.GetBytes(text)));
            bundle = new PgpSecretKeyRingBundle(armored);
        }
        catch (Exception exception) when (exception is IOException or PgpException or ArgumentException)
        {
            // BouncyCastle's message is left out: it may quote the packet it stopped at.
            throw new OffsiteSigningKeyException($"{setting}: {path} could not be read as an OpenPGP private key. {PrivateHint}");
        }

        // The newest key allowed to sign, as gpg picks (a primary key, or a signing subkey added later).
        var secretKey = bundle.GetKeyRings()
            .SelectMany(ring => ring.GetSecretKeys())
            .Where(key => key.IsSigningKey && !key.PublicKey.HasRevocation() && MaySign(key.PublicKey))
            .OrderByDescending(key => key.PublicKey.CreationTime)
            .FirstOrDefault()
            ?? throw new OffsiteSigningKeyException(
                $"{setting}: {path} holds no key allowed to sign. Make one with gpg --quick-gen-key 'CoreScope offsite' future-default sign, then export it. {PrivateHint}");
        try
        {
            // gpg hashes the passphrase's UTF-8 bytes; BouncyCastle's plain overload would drop the high byte of each char.
            return new OpenPgpSigner(secretKey.ExtractPrivateKeyUtf8(passphrase.ToCharArray()), secretKey.PublicKey);
        }
        catch (PgpException)
        {
            throw new OffsiteSigningKeyException(
                $"{setting}: the key {KeyId(secretKey.KeyId)} in {path} cannot be unlocked with the passphrase of {OffsiteSigningOptions.PassphraseSetting} " +
                $"or {OffsiteSigningOptions.PassphraseFileSetting}.");
        }
    }

    private static List<PgpPublicKey> ReadPublicKeys(string path)
    {
        var setting = OffsiteSigningOptions.PublicKeyFileSetting;
        var text = ReadKeyFile(setting, path, PublicHint);
        if (text.Contains("-----BEGIN PGP PRIVATE KEY BLOCK-----", StringComparison.Ordinal))
        {
            // Said before anything else: a machine that only checks must not hold what signs.
            throw new OffsiteSigningKeyException(
                $"{setting}: {path} holds a private key; the public key file must hold only the public key (name the private key in {OffsiteSigningOptions.PrivateKeyFileSetting}). {PublicHint}");
        }

        // Each armored block on its own, as the encryption's key file (OpenPgpRecipients): BouncyCastle's armor reader
        // stops at the first block's end.
        var keys = new List<PgpPublicKey>();
        foreach (var block in ArmoredPublicKeyBlock().Matches(text).Select(match => match.Value))
        {
            try
            {
                using var armored = new ArmoredInputStream(new MemoryStream(Encoding.ASCII.GetBytes(block)));
                keys.AddRange(new PgpPublicKeyRingBundle(armored).GetKeyRings().SelectMany(ring => ring.GetPublicKeys()));
            }
            catch (Exception exception) when (exception is IOException or PgpException or ArgumentException)
            {
                throw new OffsiteSigningKeyException($"{setting}: {path} could not be read as an OpenPGP public key ({exception.Message}). {PublicHint}");
            }
        }

        return keys.Count > 0
            ? keys
            : throw new OffsiteSigningKeyException($"{setting}: {path} holds no complete public key (a -----BEGIN PGP PUBLIC KEY BLOCK----- line with its -----END line). {PublicHint}");
    }

    // Keys made before key flags existed have none; then the algorithm alone says (IsSigningKey), as gpg does.
    private static bool MaySign(PgpPublicKey key)
    {
        var flags = key.GetSignatures()
            .Where(signature => signature.SignatureType is PgpSignature.PositiveCertification or PgpSignature.CasualCertification
                or PgpSignature.NoCertification or PgpSignature.DefaultCertification or PgpSignature.DirectKey or PgpSignature.SubkeyBinding)
            .MaxBy(signature => signature.CreationTime)?.GetHashedSubPackets();
        return flags is null || !flags.HasSubpacket(SignatureSubpacketTag.KeyFlags) || (flags.GetKeyFlags() & PgpKeyFlags.CanSign) != 0;
    }

    internal static string KeyId(long keyId) => keyId.ToString("X16", System.Globalization.CultureInfo.InvariantCulture);
}
