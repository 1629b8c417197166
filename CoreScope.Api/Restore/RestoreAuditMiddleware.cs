using System.Diagnostics;
using CoreScope.Data.Restore;

namespace CoreScope.Api.Restore;

/// <summary>
/// Writes one audit line per restore request, whatever became of it: the client's address, the outcome, the body
/// bytes received, the source and the total time. The API key is never part of it.
/// </summary>
public sealed class RestoreAuditMiddleware(RequestDelegate next, ILogger<RestoreAuditMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var stopwatch = Stopwatch.StartNew();
        var countingBody = new CountingReadStream(context.Request.Body);
        context.Request.Body = countingBody;
        var dryRun = string.Equals(context.Request.Query["dryRun"], "true", StringComparison.OrdinalIgnoreCase);
        // The body's bytes are counted, never kept: an offsite restore's body is the operator's private key.
        var source = context.Request.Query.ContainsKey("offsite") ? "offsite" : context.Request.Query.ContainsKey("from") ? "stored" : "upload";

        context.Response.OnCompleted(() =>
        {
            var status = context.Response.StatusCode;
            var outcome = status switch
            {
                StatusCodes.Status200OK when dryRun => "checked",
                StatusCodes.Status200OK => "restored",
                StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => "denied",
                StatusCodes.Status429TooManyRequests => "throttled",
                _ when context.RequestAborted.IsCancellationRequested => "aborted",
                < 500 => "refused",
                _ => "failed",
            };
            logger.LogInformation(
                "Restore audit: client={Client} outcome={Outcome} status={Status} source={Source} bytes={Bytes} totalMs={TotalMs}",
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                outcome,
                status,
                source,
                countingBody.BytesRead,
                stopwatch.ElapsedMilliseconds);
            return Task.CompletedTask;
        });

        await next(context);
    }

    /// <summary>Passes reads through from the request body and counts them.</summary>
    private sealed class CountingReadStream(Stream inner) : ForwardReadStream
    {
        private long _bytesRead;

        public long BytesRead => Interlocked.Read(ref _bytesRead);

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            Interlocked.Add(ref _bytesRead, read);
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            Interlocked.Add(ref _bytesRead, read);
            return read;
        }
    }
}
