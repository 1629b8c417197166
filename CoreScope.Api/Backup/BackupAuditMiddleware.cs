using System.Diagnostics;
using System.Globalization;
using CoreScope.Data.Diagnostics;
using CoreScope.Api.Infrastructure;
using Microsoft.AspNetCore.Diagnostics;

namespace CoreScope.Api.Backup;

/// <summary>
/// Writes one audit line per backup request or stored-backup download, whatever became of it (refused, failed,
/// aborted, sent): the client's address, the outcome, the bytes that reached the socket, the snapshot time, the
/// total time, the route template and the stored backup's id, and the <c>Range</c> asked for (a resumed download shows
/// where it resumed). Neither the API key nor a link's token is ever part of it: the route is the template, never the
/// path. What it says of the snapshot it reads from the response itself (its <c>Content-Length</c> and
/// <see cref="BackupDownloadResult.SnapshotMsHeader"/>), so the action tells it nothing.
/// The same reading is recorded as the download's outcome for health, metrics and alerts (<see cref="BackupActivity"/>):
/// sent is a success; cut off by the server (its deadline, a stalled reader: <see cref="DownloadCut"/>) or failed on the
/// server's side (5xx) is a failure; a download its client left is <c>cancelled</c> (counted, never alerted on: the
/// client knows, and an operator who cancels a browser download must not get a "backups are failing" alert); a request
/// refused before any snapshot was tried (400, 401, 403, 429) is neither, since no backup was attempted.
/// </summary>
public sealed class BackupAuditMiddleware(RequestDelegate next, BackupActivity backupActivity, ILogger<BackupAuditMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var stopwatch = Stopwatch.StartNew();

        // Read now: the exception handler clears the route values of a request that fails.
        var route = RequestRoute.TemplateOf(context);
        var backupId = LoggableId(context.GetRouteValue("id") as string);
        var countingBody = new WriteCountingStream(context.Response.Body);
        context.Response.Body = countingBody;

        context.Response.OnCompleted(() =>
        {
            var response = context.Response;
            var status = response.StatusCode;
            var sending = status is StatusCodes.Status200OK or StatusCodes.Status206PartialContent;
            var aborted = context.RequestAborted.IsCancellationRequested
                || DownloadCut.WasUndelivered(context)
                || (sending && response.ContentLength is { } expected && countingBody.BytesWritten < expected);
            var snapshotMs = response.Headers[BackupDownloadResult.SnapshotMsHeader].ToString();
            var outcome = status switch
            {
                _ when sending && aborted => "aborted",
                _ when sending => "sent",
                StatusCodes.Status304NotModified => "not-modified",
                StatusCodes.Status401Unauthorized or StatusCodes.Status403Forbidden => "denied",
                StatusCodes.Status429TooManyRequests => "throttled",
                _ => "failed",
            };
            var range = context.Request.Headers.Range.ToString();
            logger.LogInformation(
                "Backup audit: client={Client} outcome={Outcome} status={Status} bytes={Bytes} snapshotMs={SnapshotMs} totalMs={TotalMs} route={Route} backup={BackupId} range={Range}",
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                outcome,
                status,
                countingBody.BytesWritten,
                snapshotMs.Length > 0 ? snapshotMs : "-",
                stopwatch.ElapsedMilliseconds,
                route,
                backupId,
                range.Length > 0 ? range : "-");

            // A download of a stored backup is not a backup: the store records those when it makes them.
            if (context.Request.Path.Equals("/api/backup", StringComparison.OrdinalIgnoreCase))
            {
                RecordActivity(context, outcome, countingBody.BytesWritten, snapshotMs);
            }

            return Task.CompletedTask;
        });

        await next(context);
    }

    private void RecordActivity(HttpContext context, string outcome, long bytesWritten, string snapshotMs)
    {
        var status = context.Response.StatusCode;
        if (outcome == "sent")
        {
            // The time the server spent making the copy; the transfer's time is the client's link, not the backup's.
            var made = long.TryParse(snapshotMs, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms) ? TimeSpan.FromMilliseconds(ms) : TimeSpan.Zero;
            backupActivity.RecordBackupSucceeded(BackupTrigger.Download, bytesWritten, made);
        }
        else if (outcome == "aborted" && DownloadCut.ReasonOf(context) is { } cutBecause)
        {
            var expected = context.Response.ContentLength is { } length ? $" of {length}" : "";
            backupActivity.RecordBackupFailed(BackupTrigger.Download,
                $"The server cut the download off after {bytesWritten}{expected} bytes: {cutBecause}.");
        }
        else if (outcome == "aborted")
        {
            backupActivity.RecordBackupCancelled(BackupTrigger.Download);
        }
        else if (status >= StatusCodes.Status500InternalServerError)
        {
            // The exception handler keeps what it handled; its message is the same sentence the client's "error" has.
            var reason = context.Features.Get<IExceptionHandlerFeature>()?.Error.Message ?? $"The backup failed with status {status}.";
            backupActivity.RecordBackupFailed(BackupTrigger.Download, reason);
        }
    }

    // The id is whatever the client put in the path, key or not: a line break in it would write a forged audit line of
    // its own, and a long one would fill the log. Stored backup ids are short letters, digits and dashes.
    private static string LoggableId(string? id) => id switch
    {
        null => "-",
        { Length: > 0 and <= 40 } when id.All(c => char.IsAsciiLetterOrDigit(c) || c == '-') => id,
        _ => "(not-an-id)",
    };
}
