namespace CoreScope.Data.Offsite;

/// <summary>What a target confirmed of an object it now holds.</summary>
/// <param name="Key">The full key, prefix included.</param>
/// <param name="SizeBytes">The size the target reports for the object.</param>
/// <param name="Sha256">The SHA-256 of the bytes sent, lower-case hex, computed while they were read for sending.</param>
public sealed record OffsiteUpload(string Key, long SizeBytes, string Sha256);

/// <summary>
/// One place copies go: a bucket (S3) or a container (Azure Blob) under a prefix. A target only moves bytes; what to
/// send, the manifest entries, retries and reports are <see cref="OffsiteUploader"/>'s. Every failure is an
/// <see cref="OffsiteTargetException"/> that says whether trying again can help.
/// </summary>
public interface IOffsiteTarget
{
    /// <summary><c>s3</c> or <c>azureblob</c>: the name in manifests, <c>?offsite={target}:{key}</c>, logs, metrics and alerts.</summary>
    string Name { get; }

    /// <summary>Where the target points, for the log: endpoint, bucket or container and prefix, never a credential.</summary>
    string Description { get; }

    /// <summary>The prefix every key of this target starts with: empty or ending in '/'.</summary>
    string Prefix { get; }

    /// <summary>
    /// Sends a local file to <paramref name="key"/> in parts of bounded size (multipart upload, staged blocks), each
    /// with a checksum the service verifies, and returns what the target confirmed. Nothing is left half-written
    /// under the key: a failed multipart upload is aborted, uncommitted blocks are never visible.
    /// </summary>
    Task<OffsiteUpload> UploadFileAsync(string localPath, string key, CancellationToken cancellationToken);

    /// <summary>Sends a small object (a manifest) in one request.</summary>
    Task UploadSmallAsync(string key, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Writes the object to <paramref name="localPath"/> (created new) and returns its size; streamed, never held in memory.</summary>
    Task<long> DownloadToFileAsync(string key, string localPath, CancellationToken cancellationToken);

    /// <summary>A small object's bytes (a manifest), or null when there is none under the key; larger than <paramref name="maxBytes"/> is an error.</summary>
    Task<byte[]?> ReadSmallAsync(string key, int maxBytes, CancellationToken cancellationToken);

    /// <summary>Every key under <see cref="Prefix"/> (not below further '/' segments).</summary>
    Task<IReadOnlyList<string>> ListKeysAsync(CancellationToken cancellationToken);

    /// <summary>Deletes an object; one that is not there counts as deleted.</summary>
    Task DeleteAsync(string key, CancellationToken cancellationToken);
}

/// <summary>A target refused or failed a request. <see cref="Retryable"/>: whether the same request may work later as it is.</summary>
public sealed class OffsiteTargetException(string target, string message, bool retryable, Exception? innerException = null)
    : Exception(message, innerException)
{
    public string Target { get; } = target;

    /// <summary>False for what only the operator can fix: credentials refused, bucket or container missing, access denied.</summary>
    public bool Retryable { get; } = retryable;
}
