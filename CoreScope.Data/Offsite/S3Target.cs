using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using CoreScope.Data.Options;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite;

/// <summary>
/// An S3-compatible bucket through AWSSDK.S3. Files go up as a multipart upload, one part in memory at a time, each
/// part with its <c>Content-MD5</c> (which AWS, MinIO and Backblaze B2 verify and refuse with <c>BadDigest</c>) and its
/// SHA-256 in the signature (<c>x-amz-content-sha256</c>, which AWS verifies); the ETag the service answers for each
/// part is compared with the part's MD5 too, so a server that verifies nothing itself (s3rver) is still checked.
/// The SDK's newer default checksums (CRC32 in an <c>aws-chunked</c> trailer) are turned off: MinIO before 2025,
/// Backblaze B2 and s3rver do not decode that encoding and would store the chunk framing as data.
/// </summary>
public sealed class S3Target : IOffsiteTarget, IDisposable
{
    public const string TargetName = "s3";

    private readonly AmazonS3Client _client;
    private readonly string _bucket;
    private readonly int _partSizeBytes;

    public S3Target(IOptions<OffsiteS3Options> options, IOptions<OffsiteOptions> offsite)
    {
        var settings = options.Value;
        _bucket = settings.Bucket!.Trim();
        Prefix = OffsitePrefix.Normalize(settings.Prefix);
        _partSizeBytes = offsite.Value.PartSizeMB << 20;
        var config = new AmazonS3Config
        {
            ForcePathStyle = settings.ForcePathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            Timeout = TimeSpan.FromSeconds(offsite.Value.RequestTimeoutSeconds),

            // The SDK's own quick retries cover a dropped connection; the uploader's retries with backoff cover an outage.
            MaxErrorRetry = 2,
        };
        if (!string.IsNullOrWhiteSpace(settings.ServiceUrl))
        {
            config.ServiceURL = settings.ServiceUrl.Trim();
            config.AuthenticationRegion = string.IsNullOrWhiteSpace(settings.Region) ? "us-east-1" : settings.Region.Trim();
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(
                string.IsNullOrWhiteSpace(settings.Region) ? Environment.GetEnvironmentVariable("AWS_REGION") : settings.Region.Trim());
        }

        _client = string.IsNullOrWhiteSpace(settings.AccessKeyId)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(new BasicAWSCredentials(settings.AccessKeyId.Trim(), settings.SecretAccessKey!.Trim()), config);
        Description = $"S3 bucket {_bucket} at {(string.IsNullOrWhiteSpace(settings.ServiceUrl) ? "AWS " + config.RegionEndpoint?.SystemName : config.ServiceURL)}" +
            (Prefix.Length > 0 ? $", prefix {Prefix}" : "");
    }

    public string Name => TargetName;

    public string Description { get; }

    public string Prefix { get; }

    public async Task<OffsiteUpload> UploadFileAsync(string localPath, string key, CancellationToken cancellationToken)
    {
        using var parts = new FileParts(localPath, _partSizeBytes);
        if (parts.PartCount == 1)
        {
            await PutObjectAsync(key, await parts.ReadNextAsync(cancellationToken), "application/octet-stream", cancellationToken);
            return await ConfirmAsync(key, parts, cancellationToken);
        }

        var uploadId = await CallAsync(async () => (await _client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
        {
            BucketName = _bucket,
            Key = key,
            ContentType = "application/octet-stream",
        }, cancellationToken)).UploadId, cancellationToken);
        try
        {
            var etags = new List<PartETag>(parts.PartCount);
            for (var number = 1; number <= parts.PartCount; number++)
            {
                var content = await parts.ReadNextAsync(cancellationToken);
                var partNumber = number;
                var etag = await CallAsync(async () =>
                {
                    using var body = FileParts.AsStream(content);
                    var response = await _client.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = _bucket,
                        Key = key,
                        UploadId = uploadId,
                        PartNumber = partNumber,
                        InputStream = body,
                        PartSize = content.Length,
                        MD5Digest = Md5Base64(content.Span),
                        UseChunkEncoding = false,
                        IsLastPart = partNumber == parts.PartCount,
                    }, cancellationToken);
                    CheckEtag(response.ETag, content.Span, key, partNumber);
                    return response.ETag;
                }, cancellationToken);
                etags.Add(new PartETag(partNumber, etag));
            }

            await CallAsync(() => _client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = _bucket,
                Key = key,
                UploadId = uploadId,
                PartETags = etags,
            }, cancellationToken), cancellationToken);
        }
        catch
        {
            await AbortQuietlyAsync(key, uploadId);
            throw;
        }

        return await ConfirmAsync(key, parts, cancellationToken);
    }

    public Task UploadSmallAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        PutObjectAsync(key, content, "application/json", cancellationToken);

    // One object in one PUT (a file of one part, a manifest), checked as a part is: Content-MD5 sent, ETag compared.
    private async Task PutObjectAsync(string key, ReadOnlyMemory<byte> content, string contentType, CancellationToken cancellationToken) =>
        await CallAsync(async () =>
        {
            using var body = FileParts.AsStream(content);
            var response = await _client.PutObjectAsync(new PutObjectRequest
            {
                BucketName = _bucket,
                Key = key,
                InputStream = body,
                AutoCloseStream = false,
                ContentType = contentType,
                MD5Digest = Md5Base64(content.Span),
                UseChunkEncoding = false,
            }, cancellationToken);
            CheckEtag(response.ETag, content.Span, key, 1);
        }, cancellationToken);

    public Task<long> DownloadToFileAsync(string key, string localPath, CancellationToken cancellationToken) =>
        CallAsync(async () =>
        {
            using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, cancellationToken);
            await using var file = new FileStream(localPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20, FileOptions.Asynchronous);
            await response.ResponseStream.CopyToAsync(file, 1 << 20, cancellationToken);
            if (file.Length != response.ContentLength)
            {
                throw new OffsiteTargetException(Name,
                    $"{Description} sent {file.Length} bytes of {key} where it announced {response.ContentLength}: the transfer was cut short or is not the service's.", retryable: true);
            }

            return file.Length;
        }, cancellationToken);

    public async Task<byte[]?> ReadSmallAsync(string key, int maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            return await CallAsync(async () =>
            {
                using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, cancellationToken);
                if (response.ContentLength > maxBytes)
                {
                    throw new OffsiteTargetException(Name, $"{key} is {response.ContentLength} bytes, more than a manifest can be.", retryable: false);
                }

                using var buffer = new MemoryStream();
                await response.ResponseStream.CopyToAsync(buffer, cancellationToken);
                return buffer.ToArray();
            }, cancellationToken);
        }
        catch (OffsiteTargetException exception) when (exception.InnerException is AmazonS3Exception { StatusCode: HttpStatusCode.NotFound, ErrorCode: "NoSuchKey" })
        {
            return null;
        }
    }

    public Task<IReadOnlyList<string>> ListKeysAsync(CancellationToken cancellationToken) =>
        CallAsync<IReadOnlyList<string>>(async () =>
        {
            var keys = new List<string>();
            string? continuation = null;
            do
            {
                var response = await _client.ListObjectsV2Async(new ListObjectsV2Request
                {
                    BucketName = _bucket,
                    Prefix = Prefix,
                    Delimiter = "/",
                    ContinuationToken = continuation,
                }, cancellationToken);

                // AWSSDK 4 leaves an empty list null.
                keys.AddRange((response.S3Objects ?? []).Select(item => item.Key));
                continuation = response.IsTruncated == true ? response.NextContinuationToken : null;
            }
            while (continuation is not null);
            return keys;
        }, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        CallAsync(() => _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key }, cancellationToken), cancellationToken);

    public void Dispose() => _client.Dispose();

    // What the bucket says it holds now: the size must be the file's, or the copy does not count.
    private async Task<OffsiteUpload> ConfirmAsync(string key, FileParts parts, CancellationToken cancellationToken)
    {
        var sha256 = parts.Sha256();
        var head = await CallAsync(() => _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancellationToken), cancellationToken);
        if (head.ContentLength != parts.Length)
        {
            throw new OffsiteTargetException(Name, $"The bucket holds {head.ContentLength} bytes under {key} after the upload of {parts.Length}.", retryable: true);
        }

        return new OffsiteUpload(key, head.ContentLength, sha256);
    }

    private async Task AbortQuietlyAsync(string key, string uploadId)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = key, UploadId = uploadId }, timeout.Token);
        }
        catch (Exception exception) when (exception is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
        {
            // The parts of an upload nobody completes are never an object; a bucket lifecycle rule removes them for good
            // (docs/offsite.md), so a target that is down now costs no more than that.
        }
    }

    // A part the service answered for with another MD5 as its ETag was received differently from how it was sent.
    // Only an ETag of 32 hex digits is an MD5 (AWS with SSE-KMS, for one, answers something else).
    private void CheckEtag(string? etag, ReadOnlySpan<byte> content, string key, int partNumber)
    {
        var value = etag?.Trim('"') ?? "";
        if (value.Length == 32 && value.All(Uri.IsHexDigit) && !string.Equals(value, Md5Hex(content), StringComparison.OrdinalIgnoreCase))
        {
            throw new OffsiteTargetException(Name,
                $"Part {partNumber} of {key} arrived with MD5 {value}, not the {Md5Hex(content)} that was sent.", retryable: true);
        }
    }

    private Task<bool> CallAsync(Func<Task> call, CancellationToken cancellationToken) =>
        CallAsync(async () =>
        {
            await call();
            return true;
        }, cancellationToken);

    // Every SDK failure becomes one exception that says what the operator sees and whether to try again.
    private async Task<T> CallAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (AmazonS3Exception exception)
        {
            throw new OffsiteTargetException(Name, Explain(exception), Retryable(exception), exception);
        }
        catch (OffsiteTargetException)
        {
            throw;
        }
        catch (Exception exception) when (OffsiteFailures.IsTargetFailure(exception, cancellationToken))
        {
            throw new OffsiteTargetException(Name, OffsiteFailures.Explain(Description, exception, Innermost(exception)), retryable: true, exception);
        }
    }

    private string Explain(AmazonS3Exception exception) => exception.ErrorCode switch
    {
        "NoSuchBucket" => $"The bucket {_bucket} does not exist ({Description}); create it, or fix {OffsiteS3Options.SectionName}:Bucket.",
        "InvalidAccessKeyId" => $"The access key is not known to {Description} (InvalidAccessKeyId); check AccessKeyId or AWS_ACCESS_KEY_ID.",
        "SignatureDoesNotMatch" => $"The secret key does not match the access key (SignatureDoesNotMatch, {Description}); check SecretAccessKey or AWS_SECRET_ACCESS_KEY.",
        "AccessDenied" => $"Access denied by {Description} (AccessDenied): the key lacks s3:PutObject, s3:GetObject, s3:ListBucket or s3:DeleteObject there.",
        _ when (int)exception.StatusCode is > 0 and < 400 =>
            $"{Description} answered {(int)exception.StatusCode} with something that is not a storage service's answer ({exception.Message}); a proxy or portal in between, or a damaged transfer",
        _ => $"{Description} answered {(int)exception.StatusCode} {exception.ErrorCode}: {exception.Message}",
    };

    // A 2xx or 3xx that the SDK still took for an error is an answer it could not read: a proxy's, not the service's.
    private static bool Retryable(AmazonS3Exception exception) =>
        (int)exception.StatusCode >= 500 || (int)exception.StatusCode < 400 || exception.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests or 0
        || exception.ErrorCode is "BadDigest" or "RequestTimeout" or "SlowDown" or "IncompleteBody";

    private static string Innermost(Exception exception)
    {
        while (exception.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception.Message;
    }

#pragma warning disable CA5351 // MD5 here is the transfer checksum S3 and Azure verify (Content-MD5), not a security measure.
    internal static string Md5Base64(ReadOnlySpan<byte> content) => Convert.ToBase64String(System.Security.Cryptography.MD5.HashData(content));

    private static string Md5Hex(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content));
#pragma warning restore CA5351
}
