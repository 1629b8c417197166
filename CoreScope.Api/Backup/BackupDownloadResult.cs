using System.Buffers;
using System.Globalization;
using CoreScope.Api.Options;
using CoreScope.Data.Backup;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace CoreScope.Api.Backup;

/// <summary>
/// Sends a finished snapshot: its headers, then the file as it is or gzip-compressed while it streams. The file is
/// read with <see cref="StagingFiles.CopyBufferBytes"/> reads rather than through <see cref="PhysicalFileResult"/>,
/// whose smaller copies sent 1 GB in 1.3 s against 0.9 s here (docs/benchmarks.md). A download that outlives
/// <see cref="BackupDownloadOptions.MaxDownloadSeconds"/>, or that moves less than
/// <see cref="BackupDownloadOptions.MinDownloadBytesPerSecond"/> over a <see cref="DownloadProgressWatchdog.Window"/>
/// (a client that stopped reading), is aborted. The snapshot itself belongs to the response
/// (<c>RegisterForDisposeAsync</c>), which deletes it when it ends.
/// </summary>
public sealed class BackupDownloadResult(
    BackupSnapshot snapshot, BackupDownloadOptions options, TimeProvider timeProvider, ILogger<BackupDownloadResult> logger) : IActionResult
{
    /// <summary>The header that carries how long the snapshot took; the audit line reads it back.</summary>
    public const string SnapshotMsHeader = "X-Backup-Snapshot-Ms";

    private static readonly TimeSpan MinDataRateGracePeriod = TimeSpan.FromSeconds(5);

    // Where the watchdog can only see writes complete, a write must be small enough for a slow client to finish one
    // within the window: 64 KiB is the response pipe's own buffer, so each write waits for its own bytes to leave.
    private const int WriteBytesWithoutTransportProgress = 64 * 1024;

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var httpContext = context.HttpContext;
        var response = httpContext.Response;
        WriteHeaders(response);
        ApplyMinimumDataRate(httpContext);

        // A stuck client must not pin a copy of the database on disk, nor the only backup slot: past the deadline, or
        // once it stops taking bytes, the connection is cut and the response's end deletes the snapshot.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(options.MaxDownloadSeconds), timeProvider);
        await using var abortAtDeadline = deadline.Token.Register(() => DownloadCut.Abort(httpContext,
            $"the download passed CoreScope:Backup:MaxDownloadSeconds ({options.MaxDownloadSeconds} s)"));
        await using var watchdog = DownloadProgressWatchdog.Start(httpContext, options.MinDownloadBytesPerSecond, timeProvider, logger);
        var body = new WriteCountingStream(response.Body, watchdog.Accepted);
        if (snapshot.Gzip && !snapshot.IsCompressedOnDisk)
        {
            await StreamCompressedAsync(response, body, httpContext.RequestAborted);
        }
        else
        {
            var writeBytes = watchdog.SeesTransportProgress ? StagingFiles.CopyBufferBytes : WriteBytesWithoutTransportProgress;
            await StreamFileAsync(response, body, writeBytes, httpContext.RequestAborted);
        }

        // A backup counts as delivered when the client has it, not when the server has handed it to the socket.
        await response.Body.FlushAsync(httpContext.RequestAborted);
        if (!await watchdog.WaitForDeliveryAsync(body.BytesWritten, httpContext.RequestAborted))
        {
            DownloadCut.MarkUndelivered(httpContext);
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
        headers[SnapshotMsHeader] = ((long)snapshot.SnapshotDuration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
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

    private async Task StreamFileAsync(HttpResponse response, Stream body, int writeBytes, CancellationToken cancellationToken)
    {
        response.ContentType = snapshot.ContentType;
        response.ContentLength = snapshot.Length;
        await using var source = StagingFiles.OpenSequentialRead(snapshot.FilePath);
        var buffer = ArrayPool<byte>.Shared.Rent(StagingFiles.CopyBufferBytes);
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, StagingFiles.CopyBufferBytes), cancellationToken)) > 0)
            {
                for (var offset = 0; offset < read; offset += writeBytes)
                {
                    await body.WriteAsync(buffer.AsMemory(offset, Math.Min(writeBytes, read - offset)), cancellationToken);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private async Task StreamCompressedAsync(HttpResponse response, Stream body, CancellationToken cancellationToken)
    {
        response.ContentType = snapshot.ContentType;
        response.HttpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await using var source = StagingFiles.OpenSequentialRead(snapshot.FilePath);

        // On every core, one gzip member per 1 MiB block, written in order as they are done (ParallelGzip says why).
        await ParallelGzip.CompressAsync(source, body, snapshot.CompressionLevel, cancellationToken);

        await body.FlushAsync(cancellationToken);
    }
}
