using System.Buffers.Text;
using CoreScope.Data.Restore;
using Microsoft.AspNetCore.Http.Features;

namespace CoreScope.Api.Restore;

/// <summary>Reads what a restore request says of its body: the digest headers, the length, and the body itself as a stream.</summary>
public static class RestoreUpload
{
    public const string ReprDigestHeader = "Repr-Digest";
    public const string Sha256Header = "X-Backup-SHA256";

    /// <summary>The request's part of a <see cref="RestoreRequest"/>; a malformed header or a body beside <c>from</c> is a 400.</summary>
    /// <paramref name="keyBody"/>: an offsite restore, whose body may carry the decryption key as JSON (<see cref="OffsiteRestoreKey"/>).
    public static RestoreRequest ReadRequest(HttpRequest request, bool dryRun, bool fromStoredBackup, bool bothSources = false, bool keyBody = false)
    {
        if (bothSources)
        {
            throw new RestoreFailedException(RestoreFailure.BadRequest, "Name one backup to restore: ?from={id} or ?offsite={target}:{key}, not both.");
        }

        if (fromStoredBackup && request.ContentLength > 0 && !(keyBody && request.HasJsonContentType()))
        {
            throw new RestoreFailedException(RestoreFailure.BadRequest,
                "Send either a body to restore or ?from={id} naming a stored backup, not both.");
        }

        if (request.ContentType is { } type && type.StartsWith("multipart/", StringComparison.OrdinalIgnoreCase))
        {
            throw new RestoreFailedException(RestoreFailure.BadRequest,
                "Send the .db or .db.gz file itself as the body (curl --data-binary @file, Invoke-WebRequest -InFile), not a form.");
        }

        return new RestoreRequest(dryRun, ExpectedSha256(request.Headers), request.ContentLength);
    }

    /// <summary>
    /// The body, with Kestrel's complaints about it (over the size limit, ended early) turned into restore failures
    /// that say what to do.
    /// </summary>
    public static Stream Body(HttpRequest request, long maxUploadMegabytes) => new BodyStream(request.Body, maxUploadMegabytes);

    /// <summary>Raises Kestrel's body limit for the restore alone, to <c>CoreScope:Restore:MaxUploadMB</c>.</summary>
    public static void RaiseBodyLimit(HttpContext context, long maxUploadMegabytes)
    {
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            // One byte over the cap is what tells "exactly the cap" from "more"; the staging step refuses the rest.
            limit.MaxRequestBodySize = maxUploadMegabytes * 1024 * 1024 + 1;
        }
    }

    // RFC 9530: "sha-256=:<base64>:" among possibly other algorithms; X-Backup-SHA256 is the hex that Get-FileHash prints.
    private static byte[]? ExpectedSha256(IHeaderDictionary headers)
    {
        byte[]? fromRepr = null;
        if (headers.TryGetValue(ReprDigestHeader, out var repr))
        {
            var member = string.Join(',', repr.ToArray()).Split(',')
                .Select(part => part.Trim())
                .FirstOrDefault(part => part.StartsWith("sha-256=", StringComparison.OrdinalIgnoreCase))
                ?? throw BadDigest($"{ReprDigestHeader} has no sha-256 member; send {ReprDigestHeader}: sha-256=:<base64>:.");
            var value = member["sha-256=".Length..];
            if (value.Length < 2 || value[0] != ':' || value[^1] != ':' || !Base64.IsValid(value.AsSpan(1, value.Length - 2), out var length) || length != 32)
            {
                throw BadDigest($"{ReprDigestHeader}'s sha-256 must be 32 bytes in base64 between colons: sha-256=:<base64>:.");
            }

            fromRepr = Convert.FromBase64String(value[1..^1]);
        }

        byte[]? fromHex = null;
        if (headers.TryGetValue(Sha256Header, out var hex))
        {
            var text = hex.ToString().Trim();
            if (text.Length != 64 || !text.All(Uri.IsHexDigit))
            {
                throw BadDigest($"{Sha256Header} must be the SHA-256 as 64 hex digits.");
            }

            fromHex = Convert.FromHexString(text);
        }

        if (fromRepr is not null && fromHex is not null && !fromRepr.AsSpan().SequenceEqual(fromHex))
        {
            throw BadDigest($"{ReprDigestHeader} and {Sha256Header} name different digests; send one, or the same in both.");
        }

        return fromRepr ?? fromHex;
    }

    private static RestoreFailedException BadDigest(string message) => new(RestoreFailure.BadRequest, message);

    private sealed class BodyStream(Stream inner, long maxUploadMegabytes) : ForwardReadStream
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }
            catch (BadHttpRequestException exception) when (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                throw new RestoreFailedException(RestoreFailure.TooLarge,
                    $"The upload is larger than {maxUploadMegabytes} MB (CoreScope:Restore:MaxUploadMB); it was refused there. " +
                    "Send it gzip-compressed, or raise the setting.", exception);
            }
            catch (BadHttpRequestException exception)
            {
                throw new RestoreFailedException(RestoreFailure.BadRequest,
                    "The upload ended before its announced length (" + exception.Message + "); nothing was changed. Send the file again.", exception);
            }
        }
    }
}
