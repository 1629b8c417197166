using System.ComponentModel.DataAnnotations;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Options;

/// <summary>
/// How copies go off the box, whatever the target (section <c>CoreScope:Offsite</c>): retries and the size of the
/// pieces a file is sent in. Meanings and examples: docs/offsite.md.
/// </summary>
public sealed class OffsiteOptions
{
    public const string SectionName = "CoreScope:Offsite";

    /// <summary>Tries per copy to one target before it is reported failed; failures that a retry cannot fix (credentials, a missing bucket) are not retried.</summary>
    [Range(1, 20, ErrorMessage = "CoreScope:Offsite:MaxAttempts must be a whole number from 1 to 20.")]
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait before the second try; it doubles for each try after (10, 20, 40 … seconds, at most 10 minutes).</summary>
    [Range(0.01, 3600, ErrorMessage = "CoreScope:Offsite:FirstRetryDelaySeconds must be from 0.01 to 3600.")]
    public double FirstRetryDelaySeconds { get; set; } = 10;

    /// <summary>
    /// The size of one part (S3) or block (Azure) in MiB: the memory one upload holds, and the unit a checksum covers.
    /// S3 wants at least 5 MiB per part and at most 10,000 parts; a larger file gets larger parts by itself.
    /// </summary>
    [Range(5, 512, ErrorMessage = "CoreScope:Offsite:PartSizeMB must be a whole number from 5 to 512.")]
    public int PartSizeMB { get; set; } = 8;

    /// <summary>How long one request to a target may take before it counts as failed (and is retried).</summary>
    [Range(5, 3600, ErrorMessage = "CoreScope:Offsite:RequestTimeoutSeconds must be from 5 to 3600.")]
    public int RequestTimeoutSeconds { get; set; } = 120;
}

/// <summary>
/// An S3-compatible target (section <c>CoreScope:Offsite:S3</c>): AWS S3, MinIO, Backblaze B2, anything that speaks the
/// S3 API. Off while <see cref="Bucket"/> is empty.
/// </summary>
public sealed class OffsiteS3Options
{
    public const string SectionName = "CoreScope:Offsite:S3";

    /// <summary>The endpoint of a service other than AWS (<c>https://s3.eu-central-003.backblazeb2.com</c>, <c>http://minio:9000</c>); empty for AWS itself.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>The bucket's region (<c>eu-central-1</c>); with a ServiceUrl, the region it signs requests for (default <c>us-east-1</c>).</summary>
    public string? Region { get; set; }

    /// <summary>The bucket; setting it turns the target on. The bucket must exist: the server never creates one.</summary>
    public string? Bucket { get; set; }

    /// <summary>Put before every object key, such as <c>corescope/box-7/</c>; empty for the bucket's root.</summary>
    public string? Prefix { get; set; }

    /// <summary><c>https://host/bucket/key</c> instead of <c>https://bucket.host/key</c>: MinIO and most self-hosted services need it.</summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>The access key; empty takes the standard AWS sources (<c>AWS_ACCESS_KEY_ID</c> and <c>AWS_SECRET_ACCESS_KEY</c>, the profile, the instance role).</summary>
    public string? AccessKeyId { get; set; }

    /// <summary>The secret for <see cref="AccessKeyId"/>; never logged.</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>Whether the target is configured.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(Bucket);
}

/// <summary>
/// An Azure Blob Storage target (section <c>CoreScope:Offsite:AzureBlob</c>): a connection string, or a container URI
/// with a SAS token. Off while neither is set.
/// </summary>
public sealed class OffsiteAzureBlobOptions
{
    public const string SectionName = "CoreScope:Offsite:AzureBlob";

    /// <summary>The storage account's connection string (<c>DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…</c>); never logged.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>The container's URI with a SAS token (<c>https://acct.blob.core.windows.net/backups?sv=…&amp;sig=…</c>), instead of a connection string.</summary>
    public string? ContainerUri { get; set; }

    /// <summary>The container, with a connection string. The container must exist: the server never creates one.</summary>
    public string? Container { get; set; }

    /// <summary>Put before every blob name, such as <c>corescope/box-7/</c>.</summary>
    public string? Prefix { get; set; }

    /// <summary>Whether the target is configured.</summary>
    public bool IsEnabled => !string.IsNullOrWhiteSpace(ConnectionString) || !string.IsNullOrWhiteSpace(ContainerUri);
}

/// <summary>
/// Which copies each target keeps (section <c>CoreScope:Offsite:Retention</c>), in the terms of
/// <see cref="BackupRetentionOptions"/>; a count left unset takes the local one, so by default a target keeps what the
/// box keeps.
/// </summary>
public sealed class OffsiteRetentionOptions
{
    public const string SectionName = "CoreScope:Offsite:Retention";

    private const string Message = " must be a whole number from 0 to 100000.";

    [Range(0, 100_000, ErrorMessage = "CoreScope:Offsite:Retention:KeepLast" + Message)]
    public int? KeepLast { get; set; }

    [Range(0, 100_000, ErrorMessage = "CoreScope:Offsite:Retention:KeepDaily" + Message)]
    public int? KeepDaily { get; set; }

    [Range(0, 100_000, ErrorMessage = "CoreScope:Offsite:Retention:KeepWeekly" + Message)]
    public int? KeepWeekly { get; set; }

    [Range(0, 100_000, ErrorMessage = "CoreScope:Offsite:Retention:KeepMonthly" + Message)]
    public int? KeepMonthly { get; set; }
}

/// <summary>What data annotations cannot say of the S3 target: which settings go together.</summary>
public sealed class OffsiteS3OptionsValidator : IValidateOptions<OffsiteS3Options>
{
    public ValidateOptionsResult Validate(string? name, OffsiteS3Options options)
    {
        var failures = new List<string>();
        var anySet = !string.IsNullOrWhiteSpace(options.ServiceUrl) || !string.IsNullOrWhiteSpace(options.Region)
            || !string.IsNullOrWhiteSpace(options.Prefix) || !string.IsNullOrWhiteSpace(options.AccessKeyId) || !string.IsNullOrWhiteSpace(options.SecretAccessKey);
        if (!options.IsEnabled)
        {
            if (anySet)
            {
                failures.Add($"{OffsiteS3Options.SectionName}:Bucket is empty, but other S3 settings are set; name the bucket, or remove the S3 settings to turn the target off.");
            }

            return Result(failures);
        }

        var bucket = options.Bucket!.Trim();
        if (bucket.Length is < 3 or > 63 || bucket.Any(c => !(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.' or '_')))
        {
            failures.Add($"{OffsiteS3Options.SectionName}:Bucket \"{bucket}\" is not a bucket name (3 to 63 lower-case letters, digits, '-', '.').");
        }

        if (!string.IsNullOrWhiteSpace(options.ServiceUrl)
            && (!Uri.TryCreate(options.ServiceUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")))
        {
            failures.Add($"{OffsiteS3Options.SectionName}:ServiceUrl must be an http:// or https:// URL, such as https://s3.eu-central-003.backblazeb2.com.");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceUrl) && string.IsNullOrWhiteSpace(options.Region)
            && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("AWS_REGION")))
        {
            failures.Add($"{OffsiteS3Options.SectionName}: set Region (AWS S3, such as eu-central-1) or ServiceUrl (any other S3-compatible service).");
        }

        if (string.IsNullOrWhiteSpace(options.AccessKeyId) != string.IsNullOrWhiteSpace(options.SecretAccessKey))
        {
            failures.Add($"{OffsiteS3Options.SectionName}: AccessKeyId and SecretAccessKey go together; set both, or neither to use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.");
        }

        failures.AddRange(OffsitePrefix.Problems(OffsiteS3Options.SectionName, options.Prefix));
        return Result(failures);
    }

    private static ValidateOptionsResult Result(List<string> failures) =>
        failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
}

/// <summary>What data annotations cannot say of the Azure target: one way to reach the container, and one that parses.</summary>
public sealed class OffsiteAzureBlobOptionsValidator : IValidateOptions<OffsiteAzureBlobOptions>
{
    public ValidateOptionsResult Validate(string? name, OffsiteAzureBlobOptions options)
    {
        var failures = new List<string>();
        var section = OffsiteAzureBlobOptions.SectionName;
        if (!options.IsEnabled)
        {
            if (!string.IsNullOrWhiteSpace(options.Container) || !string.IsNullOrWhiteSpace(options.Prefix))
            {
                failures.Add($"{section}: Container or Prefix is set without ConnectionString or ContainerUri; set one of those, or remove the Azure settings to turn the target off.");
            }
        }
        else if (!string.IsNullOrWhiteSpace(options.ConnectionString) && !string.IsNullOrWhiteSpace(options.ContainerUri))
        {
            failures.Add($"{section}: set ConnectionString (with Container) or ContainerUri (with its SAS token), not both.");
        }
        else if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            if (string.IsNullOrWhiteSpace(options.Container))
            {
                failures.Add($"{section}:Container is required with a ConnectionString.");
            }
            else
            {
                try
                {
                    _ = new BlobContainerClient(options.ConnectionString, options.Container);
                }
                catch (Exception exception) when (exception is FormatException or ArgumentException or InvalidOperationException)
                {
                    // The SDK's message names the part that is wrong, never the key itself.
                    failures.Add($"{section}:ConnectionString cannot be read: {exception.Message}");
                }
            }
        }
        else
        {
            if (!Uri.TryCreate(options.ContainerUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")
                || uri.AbsolutePath.Trim('/').Length == 0)
            {
                failures.Add($"{section}:ContainerUri must be the container's https:// URI with its SAS token, such as https://acct.blob.core.windows.net/backups?sv=…&sig=….");
            }

            if (!string.IsNullOrWhiteSpace(options.Container))
            {
                failures.Add($"{section}:Container goes with a ConnectionString; a ContainerUri names its container itself.");
            }
        }

        failures.AddRange(OffsitePrefix.Problems(section, options.Prefix));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>A prefix is a folder-like start of every key: no leading slash, no "." or ".." segments.</summary>
internal static class OffsitePrefix
{
    public static IEnumerable<string> Problems(string section, string? prefix)
    {
        if (string.IsNullOrEmpty(prefix))
        {
            yield break;
        }

        if (prefix.StartsWith('/') || prefix.Split('/').Any(segment => segment is "." or "..") || prefix.Any(char.IsControl))
        {
            yield return $"{section}:Prefix \"{prefix}\" must not start with '/' or hold '.' or '..' segments; use something like corescope/box-7/.";
        }
    }

    /// <summary>The prefix as keys start with it: empty, or ending in one '/'.</summary>
    public static string Normalize(string? prefix) =>
        string.IsNullOrWhiteSpace(prefix) ? "" : prefix.Trim().TrimEnd('/') + "/";
}
