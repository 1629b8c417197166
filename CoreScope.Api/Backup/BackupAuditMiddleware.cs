using System.Diagnostics;

namespace CoreScope.Api.Backup;

/// <summary>
/// Writes one audit line per backup request, whatever became of it (refused, failed, aborted, sent): the
/// client's address, the outcome, the bytes that reached the socket, the snapshot time and the total time.
/// The API key is never part of it. What it says of the snapshot it reads from the response itself (its
/// <c>Content-Length</c> and <see cref="BackupDownloadResult.SnapshotMsHeader"/>), so the action tells it nothing.
/// </summary>
public sealed class BackupAuditMiddleware(RequestDelegate next, ILogger<BackupAuditMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var stopwatch = Stopwatch.StartNew();
        var countingBody = new CountingStream(context.Response.Body);
        context.Response.Body = countingBody;

        context.Response.OnCompleted(() =>
        {
            var response = context.Response;
            var status = response.StatusCode;
            var aborted = context.RequestAborted.IsCancellationRequested
                || (status == StatusCodes.Status200OK && response.ContentLength is { } expected && countingBody.BytesWritten < expected);
            var snapshotMs = response.Headers[BackupDownloadResult.SnapshotMsHeader].ToString();
            var outcome = status switch
            {
                StatusCodes.Status200OK when aborted => "aborted",
                StatusCodes.Status200OK => "sent",
                StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => "denied",
                StatusCodes.Status429TooManyRequests => "throttled",
                _ => "failed",
            };
            logger.LogInformation(
                "Backup audit: client={Client} outcome={Outcome} status={Status} bytes={Bytes} snapshotMs={SnapshotMs} totalMs={TotalMs}",
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                outcome,
                status,
                countingBody.BytesWritten,
                snapshotMs.Length > 0 ? snapshotMs : "-",
                stopwatch.ElapsedMilliseconds);
            return Task.CompletedTask;
        });

        await next(context);
    }

    /// <summary>Passes writes through to the response body and counts them.</summary>
    private sealed class CountingStream(Stream inner) : Stream
    {
        private long _bytesWritten;

        public long BytesWritten => Interlocked.Read(ref _bytesWritten);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            Interlocked.Add(ref _bytesWritten, count);
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await inner.WriteAsync(buffer, cancellationToken);
            Interlocked.Add(ref _bytesWritten, buffer.Length);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }
}
