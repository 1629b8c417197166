using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace CoreScope.Data.Offsite.Encryption;

/// <summary>One key a file is encrypted to: the subkey used, and its primary key's fingerprint for messages.</summary>
internal sealed record OpenPgpRecipient(PgpPublicKey EncryptionKey, string Fingerprint, DateTimeOffset? ExpiresAt);

/// <summary>
/// Reads the operator's public key file and picks, from each key in it, the subkey gpg would encrypt to: allowed to
/// encrypt by its key flags, not revoked, not expired, the newest of those.
/// </summary>
internal static partial class OpenPgpRecipients
{
    // A public key with a few subkeys is a few KB; anything this large is another file named by mistake (the database).
    private const long MaxKeyFileBytes = 1024 * 1024;

    private const string ExportHint = "Export it on the machine that holds the key with: gpg --export --armor KEY-ID > corescope-offsite.asc";

    private static readonly int[] SelfCertificationTypes =
    [
        PgpSignature.PositiveCertification,
        PgpSignature.CasualCertification,
        PgpSignature.NoCertification,
        PgpSignature.DefaultCertification,
        PgpSignature.DirectKey,
    ];

    [GeneratedRegex("-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex ArmoredPublicKeyBlock();

    /// <summary>The recipients in <paramref name="path"/>, or <see cref="OffsiteEncryptionKeyException"/> saying why there are none.</summary>
    public static IReadOnlyList<OpenPgpRecipient> Load(string path, DateTimeOffset now)
    {
        var setting = OffsiteEncryptionOptions.PublicKeyFileSetting;
        if (!File.Exists(path))
        {
            throw new OffsiteEncryptionKeyException($"{setting}: {path} does not exist. {ExportHint}");
        }

        if (new FileInfo(path).Length > MaxKeyFileBytes)
        {
            throw new OffsiteEncryptionKeyException($"{setting}: {path} is larger than 1 MB, so it is not a public key. {ExportHint}");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new OffsiteEncryptionKeyException($"{setting}: {path} could not be read ({exception.Message}); the server's user must be able to read it.");
        }

        if (text.Contains("-----BEGIN PGP PRIVATE KEY BLOCK-----", StringComparison.Ordinal))
        {
            // Said before anything else: the file must leave the box, whatever else is wrong with it.
            throw new OffsiteEncryptionKeyException(
                $"{setting}: {path} holds a private key. This machine must hold only the public key, so that nothing on it can " +
                $"decrypt the copies: delete the file, keep the private key offline, and put the public key here. {ExportHint}");
        }

        if (!text.Contains("-----BEGIN PGP PUBLIC KEY BLOCK-----", StringComparison.Ordinal))
        {
            throw new OffsiteEncryptionKeyException(
                $"{setting}: {path} is not an armored OpenPGP public key (no -----BEGIN PGP PUBLIC KEY BLOCK----- line). {ExportHint}");
        }

        // Each armored block is read on its own: BouncyCastle's armor reader stops at the first one's end, and two
        // operators' keys pasted one after the other are two blocks.
        var rings = new List<PgpPublicKeyRing>();
        foreach (var block in ArmoredPublicKeyBlock().Matches(text).Select(match => match.Value))
        {
            try
            {
                using var armored = new ArmoredInputStream(new MemoryStream(Encoding.ASCII.GetBytes(block)));
                rings.AddRange(new PgpPublicKeyRingBundle(armored).GetKeyRings());
            }
            catch (Exception exception) when (exception is IOException or PgpException or ArgumentException)
            {
                throw new OffsiteEncryptionKeyException($"{setting}: {path} could not be read as an OpenPGP public key ({exception.Message}). {ExportHint}");
            }
        }

        if (rings.Count == 0)
        {
            throw new OffsiteEncryptionKeyException($"{setting}: {path} holds no complete public key (a -----BEGIN PGP PUBLIC KEY BLOCK----- line with its -----END line). {ExportHint}");
        }

        return rings.Select(ring => Choose(ring, path, now)).ToList();
    }

    private static OpenPgpRecipient Choose(PgpPublicKeyRing ring, string path, DateTimeOffset now)
    {
        var setting = OffsiteEncryptionOptions.PublicKeyFileSetting;
        var primary = ring.GetPublicKey();
        var fingerprint = Convert.ToHexString(primary.GetFingerprint());
        if (primary.HasRevocation())
        {
            throw new OffsiteEncryptionKeyException(
                $"{setting}: the key {fingerprint} in {path} is revoked. Make a new key and put its public key there.");
        }

        var primaryExpiry = ExpiresAt(primary, LatestSelfSignature(primary, primary.KeyId, SelfCertificationTypes));
        if (primaryExpiry <= now)
        {
            throw new OffsiteEncryptionKeyException(
                $"{setting}: the key {fingerprint} in {path} expired on {Format(primaryExpiry.Value)}. Extend it with " +
                $"gpg --quick-set-expire {fingerprint} 2y '*' (and once more without '*' for the key itself), then export it again.");
        }

        var candidates = ring.GetPublicKeys()
            .Select(key => (Key: key, Signature: key.IsMasterKey
                ? LatestSelfSignature(key, primary.KeyId, SelfCertificationTypes)
                : LatestSelfSignature(key, primary.KeyId, [PgpSignature.SubkeyBinding])))
            .Where(candidate => candidate.Key.IsEncryptionKey && MayEncrypt(candidate.Signature))
            .ToList();
        var usable = candidates
            .Where(candidate => !candidate.Key.HasRevocation() && !(ExpiresAt(candidate.Key, candidate.Signature) <= now))
            .OrderByDescending(candidate => candidate.Key.CreationTime)
            .ToList();
        if (usable.Count == 0)
        {
            var why = candidates.Count == 0
                ? "has no subkey allowed to encrypt (only signing keys)"
                : "has no encryption subkey that is valid now (each one is revoked or expired)";
            throw new OffsiteEncryptionKeyException(
                $"{setting}: the key {fingerprint} in {path} {why}. Add one with gpg --quick-add-key {fingerprint} default encr, then export it again.");
        }

        var (key, signature) = usable[0];
        var expiry = new[] { primaryExpiry, ExpiresAt(key, signature) }.Where(at => at is not null).Min();
        return new OpenPgpRecipient(key, fingerprint, expiry);
    }

    // The newest self-signature counts: gpg --quick-set-expire and friends add a new one rather than replace the old.
    private static PgpSignature? LatestSelfSignature(PgpPublicKey key, long primaryKeyId, int[] types) =>
        key.GetSignatures()
            .Where(signature => signature.KeyId == primaryKeyId && types.Contains(signature.SignatureType))
            .MaxBy(signature => signature.CreationTime);

    // Keys made before key flags existed have none; then the algorithm alone says (IsEncryptionKey), as gpg does.
    private static bool MayEncrypt(PgpSignature? signature)
    {
        var subpackets = signature?.GetHashedSubPackets();
        if (subpackets is null || !subpackets.HasSubpacket(SignatureSubpacketTag.KeyFlags))
        {
            return true;
        }

        return (subpackets.GetKeyFlags() & (PgpKeyFlags.CanEncryptCommunications | PgpKeyFlags.CanEncryptStorage)) != 0;
    }

    private static DateTimeOffset? ExpiresAt(PgpPublicKey key, PgpSignature? signature)
    {
        var seconds = signature?.GetHashedSubPackets()?.GetKeyExpirationTime() ?? 0;
        return seconds == 0 ? null : new DateTimeOffset(DateTime.SpecifyKind(key.CreationTime, DateTimeKind.Utc)).AddSeconds(seconds);
    }

    private static string Format(DateTimeOffset at) => at.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
