using System.Text.Json;
using CoreScope.Data.Offsite.Encryption;
using CoreScope.Data.Restore;

namespace CoreScope.Api.Restore;

/// <summary>
/// The body of <c>POST /api/admin/restore?offsite=…</c> for an encrypted copy: the operator's armored OpenPGP private
/// key and its passphrase, for this request alone. Nothing stores or logs it; <see cref="ToString"/> shows neither.
/// </summary>
public sealed class OffsiteRestoreKey
{
    /// <summary>What <c>gpg --export-secret-keys --armor</c> writes: <c>-----BEGIN PGP PRIVATE KEY BLOCK-----</c> ….</summary>
    public string? PrivateKey { get; set; }

    /// <summary>The private key's passphrase; empty for a key without one.</summary>
    public string? Passphrase { get; set; }

    public override string ToString() => "OffsiteRestoreKey (redacted)";

    // An armored RSA 4096 key with its subkeys is under 10 KB; a few keys pasted together stay far below this.
    private const int MaxBodyBytes = 256 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// The decryption key an offsite restore's body carries, or null for an empty body. Anything else in the body (a
    /// file, a form, malformed JSON, no <c>privateKey</c>) is a 400 that says what to send, never echoing the body.
    /// </summary>
    public static async Task<OffsiteDecryptionKey?> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!request.HasJsonContentType())
        {
            if (request.ContentLength > 0 || (request.ContentLength is null && request.Headers.TransferEncoding.Count > 0))
            {
                throw Refused("An offsite restore's only body is the decryption key as JSON (Content-Type: application/json); send no body for a copy that is not encrypted.");
            }

            return null;
        }

        if (request.ContentLength > MaxBodyBytes)
        {
            throw Refused($"The key body is larger than {MaxBodyBytes / 1024} KiB; send the armored private key and its passphrase only.");
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                throw Refused($"The key body is larger than {MaxBodyBytes / 1024} KiB; send the armored private key and its passphrase only.");
            }

            buffer.Write(chunk, 0, read);
        }

        OffsiteRestoreKey? body;
        try
        {
            body = JsonSerializer.Deserialize<OffsiteRestoreKey>(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), Json);
        }
        catch (JsonException)
        {
            // The parser's message may quote the text around the error, which is key material: say only what to send.
            throw Refused(Expected);
        }

        if (string.IsNullOrWhiteSpace(body?.PrivateKey))
        {
            throw Refused(Expected);
        }

        return new OffsiteDecryptionKey(body.PrivateKey, body.Passphrase ?? "");
    }

    private const string Expected =
        "Send the key as {\"privateKey\": \"-----BEGIN PGP PRIVATE KEY BLOCK-----…\", \"passphrase\": \"…\"} (Content-Type: application/json).";

    private static RestoreFailedException Refused(string message) => new(RestoreFailure.BadRequest, message + " Nothing was changed.");
}
