using System.Security.Cryptography;
using System.Text;
using CoreScope.Data.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace CoreScope.Data.Offsite.Signing;

/// <summary>
/// Signs each manifest this server puts on a target, over its exact bytes, into a signature object beside it
/// (<c>{manifest}.sig</c>), and checks that signature before a manifest is listed, restored from or used by retention:
/// whoever can write the bucket but lacks the key cannot plant a backup that restores cleanly, nor point retention at
/// other objects. HMAC-SHA256 with a key kept on the box, or a detached OpenPGP signature (docs/offsite.md "Signed manifests").
/// </summary>
public sealed class OffsiteSigning
{
    /// <summary>What the signature object's name adds to the manifest's.</summary>
    public const string SignatureSuffix = ".sig";

    /// <summary>The first word of an HMAC signature object: <c>hmac-sha256 key={fingerprint} {hex}</c>.</summary>
    public const string HmacScheme = "hmac-sha256";

    /// <summary>A signature object is a line of text or an armored signature; anything larger is not one of ours.</summary>
    public const int MaxSignatureBytes = 64 * 1024;

    private readonly Lazy<OffsiteSigningKeys> _keys;

    public OffsiteSigning(IOptions<OffsiteSigningOptions> options, IHostEnvironment environment, DatabaseLocation database)
    {
        // Read when first needed: the validator read them already at start, and a tool that never signs needs none.
        _keys = new Lazy<OffsiteSigningKeys>(() => OffsiteSigningKeys.Load(options.Value, environment.ContentRootPath, database.FilePath));
    }

    /// <summary>The signature object's key beside the manifest under <paramref name="manifestKey"/>.</summary>
    public static string SignatureKey(string manifestKey) => manifestKey + SignatureSuffix;

    /// <summary>Why this box cannot sign (OpenPGP with a public key alone), or null when it can.</summary>
    public string? CannotSign => _keys.Value.UsesOpenPgp && _keys.Value.Signer is null
        ? $"This server only checks signatures ({OffsiteSigningOptions.PublicKeyFileSetting} without {OffsiteSigningOptions.PrivateKeyFileSetting}), " +
          "so it makes no copies: a copy it cannot sign would be refused everywhere. Set the private signing key to make copies here."
        : null;

    /// <summary>The signature object for <paramref name="manifest"/>'s bytes; the HMAC key is made on the first call when there is none.</summary>
    public byte[] Sign(ReadOnlySpan<byte> manifest)
    {
        var keys = _keys.Value;
        if (!keys.UsesOpenPgp)
        {
            var key = keys.HmacKeyOrCreate();
            return Encoding.ASCII.GetBytes($"{HmacScheme} key={Fingerprint(key)} {Convert.ToHexStringLower(HMACSHA256.HashData(key, manifest))}\n");
        }

        var signer = keys.Signer ?? throw new OffsiteSigningKeyException(CannotSign!);
        var generator = new PgpSignatureGenerator(signer.PublicKey.Algorithm, HashAlgorithmTag.Sha256);
        generator.InitSign(PgpSignature.BinaryDocument, signer.PrivateKey);
        generator.Update(manifest.ToArray());
        var signature = generator.Generate();
        using var output = new MemoryStream();
        using (var armored = new ArmoredOutputStream(output))
        {
            signature.Encode(armored);
        }

        return output.ToArray();
    }

    /// <summary>
    /// Why the manifest's bytes are not to be trusted, as the end of a sentence ("it has no signature …"), or null
    /// when <paramref name="signature"/> (null: there is none) signs them with this box's key.
    /// </summary>
    public string? Refusal(ReadOnlySpan<byte> manifest, byte[]? signature, string signatureKey)
    {
        if (signature is null)
        {
            return $"it has no signature ({signatureKey} is missing): a manifest written before copies were signed, or one planted in the bucket";
        }

        var keys = _keys.Value;
        var text = Encoding.ASCII.GetString(signature);
        var isHmac = text.StartsWith(HmacScheme + " ", StringComparison.Ordinal);
        if (keys.UsesOpenPgp)
        {
            return isHmac
                ? $"it is signed with an HMAC key, and this server checks OpenPGP signatures ({OffsiteSigningOptions.PublicKeyFileSetting})"
                : OpenPgpRefusal(keys.Verifiers!, manifest, signature);
        }

        if (!isHmac)
        {
            return text.Contains("BEGIN PGP SIGNATURE", StringComparison.Ordinal)
                ? $"it has an OpenPGP signature, and this server checks HMAC ones; set {OffsiteSigningOptions.PublicKeyFileSetting} to the signer's public key"
                : $"its signature {signatureKey} is not one this server writes";
        }

        var key = keys.HmacKeyIfAny();
        if (key is null)
        {
            return $"this server has no signing key to check it with: put the {OffsiteSigningOptions.KeyFileName} of the box that made the copies at " +
                $"{keys.HmacKeyFile}, or set {OffsiteSigningOptions.KeySetting}";
        }

        var parts = text.TrimEnd('\n').Split(' ');
        if (parts.Length != 3 || !parts[1].StartsWith("key=", StringComparison.Ordinal) || parts[2].Length != 64 || !parts[2].All(char.IsAsciiHexDigit))
        {
            return $"its signature {signatureKey} cannot be read";
        }

        var expected = HMACSHA256.HashData(key, manifest);

        // Constant time: how many leading bytes matched must not show in how long the answer took.
        if (CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(parts[2])))
        {
            return null;
        }

        var fingerprint = Fingerprint(key);
        return parts[1] == "key=" + fingerprint
            ? "its signature does not match its bytes: the manifest was changed after it was signed"
            : $"it is signed with another HMAC key ({parts[1]}, this server's is key={fingerprint}): a manifest planted in the bucket, or made by a box whose " +
              $"{OffsiteSigningOptions.KeyFileName} this one lacks";
    }

    private static string? OpenPgpRefusal(IReadOnlyList<PgpPublicKey> verifiers, ReadOnlySpan<byte> manifest, byte[] signatureBytes)
    {
        PgpSignatureList? signatures;
        try
        {
            using var decoder = PgpUtilities.GetDecoderStream(new MemoryStream(signatureBytes));
            signatures = new PgpObjectFactory(decoder).NextPgpObject() as PgpSignatureList;
        }
        catch (Exception exception) when (exception is IOException or PgpException or ArgumentException)
        {
            signatures = null;
        }

        if (signatures is null || signatures.Count == 0)
        {
            return "its signature is not an OpenPGP signature";
        }

        var bytes = manifest.ToArray();
        var signers = new List<string>();
        for (var index = 0; index < signatures.Count; index++)
        {
            var signature = signatures[index];
            signers.Add(OffsiteSigningKeys.KeyId(signature.KeyId));
            var key = verifiers.FirstOrDefault(candidate => candidate.KeyId == signature.KeyId);
            if (key is null)
            {
                continue;
            }

            try
            {
                signature.InitVerify(key);
                signature.Update(bytes);
                if (signature.Verify())
                {
                    return null;
                }
            }
            catch (PgpException)
            {
                // A signature that cannot be checked is one that does not verify.
            }

            return $"its OpenPGP signature by the key {signers[^1]} does not match its bytes: the manifest was changed after it was signed";
        }

        return $"it is signed by the key {string.Join(", ", signers)}, which is not in {OffsiteSigningOptions.PublicKeyFileSetting}: a manifest planted in the bucket, " +
            "or signed by another box's key";
    }

    // Names the key in a signature object, so a box with another key says so; 8 bytes of a hash say nothing of the key.
    private static string Fingerprint(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key).AsSpan(0, 8));
}
