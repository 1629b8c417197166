using System.Globalization;
using System.IO.Compression;
using CoreScope.Data.Backup;
using CoreScope.Data.Options;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// Sends a finished snapshot: its headers, then the file as it is (a <see cref="PhysicalFileResult"/>) or
/// gzip-compressed while it streams. A download that outlives <see cref="BackupOptions.MaxDownloadSeconds"/> or
/// falls under <see cref="BackupOptions.MinDownloadBytesPerSecond"/> is aborted; the snapshot's folder is deleted
/// by the response's completion callback either way.
/// </summary>
public sealed class BackupDownloadResult(BackupSnapshot snapshot, BackupOptions options) : IActionResult
{
    private const int CopyBufferBytes = 1024 * 1024;
    private static readonly TimeSpan MinDataRateGracePeriod = TimeSpan.FromSeconds(5);

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var httpContext = context.HttpContext;
        var response = httpContext.Response;
        WriteHeaders(response);
        ApplyMinimumDataRate(httpContext);

        // A stuck client must not pin a copy of the database on disk: past the deadline the connection is cut.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(options.MaxDownloadSeconds));
        await using var abortAtDeadline = deadline.Token.Register(httpContext.Abort);
        try
        {
            if (snapshot.Gzip && !snapshot.IsCompressedOnDisk)
            {
                await StreamCompressedAsync(response, httpContext.RequestAborted);
            }
            else
            {
                await new PhysicalFileResult(snapshot.FilePath, snapshot.ContentType).ExecuteResultAsync(context);
            }
        }
        finally
        {
            // The file is read to the end (or the client is gone): free the disk and the snapshot's place now,
            // so a script that downloads again straight away is not refused while the response winds down.
            await snapshot.DisposeAsync();
        }
    }

    private void WriteHeaders(HttpResponse response)
    {
        var headers = response.Headers;
        headers.ContentDisposition = $"attachment; filename=\"{snapshot.DownloadFileName}\"";
        headers.XContentTypeOptions = "nosniff";
        headers.CacheControl = "no-store";
        headers["X-Backup-Rows-Transmissions"] = snapshot.Transmissions.ToString(CultureInfo.InvariantCulture);
        headers["X-Backup-Rows-Observations"] = snapshot.Observations.ToString(CultureInfo.InvariantCulture);
        headers["X-Backup-Method"] = snapshot.Method.ToString().ToLowerInvariant();
        headers["X-Backup-Snapshot-Ms"] = ((long)snapshot.SnapshotDuration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        if (snapshot.Sha256 is { } sha256)
        {
            // RFC 9530's digest of the bytes sent, and the same as Get-FileHash prints it.
            headers["Repr-Digest"] = $"sha-256=:{Convert.ToBase64String(sha256)}:";
            headers["X-Backup-SHA256"] = Convert.ToHexString(sha256);
        }
    }

    private void ApplyMinimumDataRate(HttpContext httpContext)
    {
        var feature = httpContext.Features.Get<IHttpMinResponseDataRateFeature>();
        if (feature is not null)
        {
            feature.MinDataRate = options.MinDownloadBytesPerSecond > 0
                ? new MinDataRate(options.MinDownloadBytesPerSecond, MinDataRateGracePeriod)
                : null;
        }
    }

    private async Task StreamCompressedAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.ContentType = snapshot.ContentType;
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await using var source = new FileStream(
            snapshot.FilePath, FileMode.Open, FileAccess.Read, FileShare.Read, CopyBufferBytes,
            FileOptions.SequentialScan | FileOptions.Asynchronous);
        await using (var gzip = new GZipStream(response.Body, options.CompressionLevel, leaveOpen: true))
        {
            await source.CopyToAsync(gzip, CopyBufferBytes, cancellationToken);
        }

        await response.Body.FlushAsync(cancellationToken);
    }
}
