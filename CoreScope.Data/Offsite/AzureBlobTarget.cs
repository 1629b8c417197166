using System.Globalization;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Storage;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using CoreScope.Data.Options;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite;

/// <summary>
/// An Azure Blob Storage container through Azure.Storage.Blobs. Files go up as staged blocks, one block in memory at a
/// time, each sent with its transactional <c>Content-MD5</c>, which Azure (and Azurite since 3.x) verifies and refuses
/// with <c>Md5Mismatch</c>; the block list is committed at the end, so until then nothing is visible under the name.
/// </summary>
public sealed class AzureBlobTarget : IOffsiteTarget
{
    public const string TargetName = "azureblob";

    /// <summary>
    /// The REST version the client speaks, fixed rather than the SDK's newest: the version this code was tested with,
    /// against Azurite 3.37.0 (which refuses versions newer than it knows).
    /// </summary>
    public const BlobClientOptions.ServiceVersion ServiceVersion = BlobClientOptions.ServiceVersion.V2026_06_06;

    private const int DownloadRangeBytes = 4 << 20;

    private readonly BlobContainerClient _container;
    private readonly int _partSizeBytes;

    public AzureBlobTarget(IOptions<OffsiteAzureBlobOptions> options, IOptions<OffsiteOptions> offsite)
    {
        var settings = options.Value;
        Prefix = OffsitePrefix.Normalize(settings.Prefix);
        _partSizeBytes = offsite.Value.PartSizeMB << 20;
        var clientOptions = new BlobClientOptions(ServiceVersion)
        {
            Retry =
            {
                // The SDK's own quick retries cover a dropped connection; the uploader's retries with backoff cover an outage.
                MaxRetries = 2,
                Mode = RetryMode.Exponential,
                Delay = TimeSpan.FromSeconds(0.5),
                NetworkTimeout = TimeSpan.FromSeconds(offsite.Value.RequestTimeoutSeconds),
            },
        };
        _container = !string.IsNullOrWhiteSpace(settings.ConnectionString)
            ? new BlobContainerClient(settings.ConnectionString.Trim(), settings.Container!.Trim(), clientOptions)
            : new BlobContainerClient(new Uri(settings.ContainerUri!.Trim()), clientOptions);

        // The URI without its query: a SAS token is a credential.
        Description = $"Azure container {_container.Name} at {_container.Uri.GetLeftPart(UriPartial.Path)}" + (Prefix.Length > 0 ? $", prefix {Prefix}" : "");
    }

    public string Name => TargetName;

    public string Description { get; }

    public string Prefix { get; }

    public async Task<OffsiteUpload> UploadFileAsync(string localPath, string key, CancellationToken cancellationToken)
    {
        var blob = _container.GetBlockBlobClient(key);
        using var parts = new FileParts(localPath, _partSizeBytes);
        var blockIds = new List<string>(parts.PartCount);
        for (var number = 1; number <= parts.PartCount; number++)
        {
            var content = await parts.ReadNextAsync(cancellationToken);

            // Every id of one blob has the same length; the number makes the order.
            var blockId = Convert.ToBase64String(Encoding.ASCII.GetBytes(number.ToString("D6", CultureInfo.InvariantCulture)));
            await CallAsync(async () =>
            {
                using var body = FileParts.AsStream(content);
                await blob.StageBlockAsync(blockId, body, new BlockBlobStageBlockOptions
                {
                    TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
                }, cancellationToken);
                return true;
            }, cancellationToken);
            blockIds.Add(blockId);
        }

        var sha256 = parts.Sha256();
        await CallAsync(() => blob.CommitBlockListAsync(blockIds, new CommitBlockListOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
        }, cancellationToken), cancellationToken);
        var properties = await CallAsync(() => blob.GetPropertiesAsync(cancellationToken: cancellationToken), cancellationToken);
        if (properties.Value.ContentLength != parts.Length)
        {
            throw new OffsiteTargetException(Name, $"The container holds {properties.Value.ContentLength} bytes under {key} after the upload of {parts.Length}.", retryable: true);
        }

        return new OffsiteUpload(key, properties.Value.ContentLength, sha256);
    }

    public Task UploadSmallAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        CallAsync(() => _container.GetBlobClient(key).UploadAsync(new BinaryData(content), new BlobUploadOptions
        {
            HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" },
            TransferValidation = new UploadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
        }, cancellationToken), cancellationToken);

    public Task<long> DownloadToFileAsync(string key, string localPath, CancellationToken cancellationToken) =>
        CallAsync(async () =>
        {
            // In ranges of 4 MiB, each checked against the MD5 the service sends with it (Azure computes a range's MD5
            // only up to 4 MiB).
            await _container.GetBlobClient(key).DownloadToAsync(localPath, new BlobDownloadToOptions
            {
                TransferOptions = new StorageTransferOptions { MaximumConcurrency = 1, InitialTransferSize = DownloadRangeBytes, MaximumTransferSize = DownloadRangeBytes },
                TransferValidation = new DownloadTransferValidationOptions { ChecksumAlgorithm = StorageChecksumAlgorithm.MD5 },
            }, cancellationToken);
            return new FileInfo(localPath).Length;
        }, cancellationToken);

    public async Task<byte[]?> ReadSmallAsync(string key, int maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            var content = await CallAsync(() => _container.GetBlobClient(key).DownloadContentAsync(cancellationToken), cancellationToken);
            var bytes = content.Value.Content.ToArray();
            return bytes.Length <= maxBytes
                ? bytes
                : throw new OffsiteTargetException(Name, $"{key} is {bytes.Length} bytes, more than a manifest can be.", retryable: false);
        }
        catch (OffsiteTargetException exception) when (exception.InnerException is RequestFailedException { ErrorCode: "BlobNotFound" })
        {
            return null;
        }
    }

    public Task<IReadOnlyList<string>> ListKeysAsync(CancellationToken cancellationToken) =>
        CallAsync<IReadOnlyList<string>>(async () =>
        {
            var keys = new List<string>();
            await foreach (var item in _container.GetBlobsByHierarchyAsync(new GetBlobsByHierarchyOptions { Prefix = Prefix, Delimiter = "/" }, cancellationToken))
            {
                if (item.IsBlob)
                {
                    keys.Add(item.Blob.Name);
                }
            }

            return keys;
        }, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
        CallAsync(() => _container.GetBlobClient(key).DeleteIfExistsAsync(cancellationToken: cancellationToken), cancellationToken);

    // Every SDK failure becomes one exception that says what the operator sees and whether to try again.
    private async Task<T> CallAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (RequestFailedException exception) when (exception.Status != 0)
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

    private string Explain(RequestFailedException exception) => exception.ErrorCode switch
    {
        "ContainerNotFound" => $"The container {_container.Name} does not exist ({Description}); create it, or fix {OffsiteAzureBlobOptions.SectionName}:Container.",
        "AuthenticationFailed" or "AuthorizationFailure" =>
            $"{Description} refused the credentials ({exception.ErrorCode}): check the account key in the connection string, or the SAS token's signature, expiry and permissions (read, write, list, delete).",
        "AuthorizationPermissionMismatch" or "AuthorizationResourceTypeMismatch" =>
            $"{Description} refused access ({exception.ErrorCode}): the SAS token or key lacks read, write, list or delete there.",
        _ when exception.Status < 400 =>
            $"{Description} answered {exception.Status} with something that is not a storage service's answer ({FirstLine(exception.Message)}); a proxy or portal in between, or a damaged transfer",
        _ => $"{Description} answered {exception.Status} {exception.ErrorCode}: {FirstLine(exception.Message)}",
    };

    // A 2xx or 3xx that the SDK still took for an error is an answer it could not read: a proxy's, not the service's.
    private static bool Retryable(RequestFailedException exception) =>
        exception.Status >= 500 || exception.Status < 400 || exception.Status is 408 or 429 || exception.ErrorCode is "Md5Mismatch" or "Crc64Mismatch" or "OperationTimedOut";

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    private static string Innermost(Exception exception)
    {
        while (exception.InnerException is not null)
        {
            exception = exception is AggregateException { InnerExceptions.Count: > 0 } aggregate ? aggregate.InnerExceptions[^1] : exception.InnerException;
        }

        return FirstLine(exception.Message);
    }
}
