using CoreScope.Api.Backup;
using CoreScope.Api.Filters;
using CoreScope.Api.Options;
using CoreScope.Data.Backup;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Controllers;

/// <summary>The operator's backup: a consistent snapshot of the live database, behind the API key.</summary>
[ApiController]
[Route("api")]
[ApiKey]
public sealed class BackupController(
    BackupService backupService,
    BackupPermits permits,
    IOptions<BackupDownloadOptions> downloadOptions,
    TimeProvider timeProvider,
    ILogger<BackupDownloadResult> downloadLogger) : ControllerBase
{
    /// <summary>Downloads a complete, consistent SQLite snapshot of the live database.</summary>
    /// <remarks>
    /// The snapshot is made while writers keep writing, staged in a temp folder of its own and deleted as soon as
    /// the response ends, whether the download finished or not. Its limits (per-client rate, snapshots at once,
    /// download deadline and minimum rate, free space) and their settings under CoreScope:Backup are described in
    /// docs/backup.md. Headers: X-Backup-Rows-Transmissions, X-Backup-Rows-Observations, X-Backup-Snapshot-Ms,
    /// X-Backup-Method, and with verify=true Repr-Digest and X-Backup-SHA256.
    /// </remarks>
    /// <param name="compress">"gzip" to receive corescope-backup-&lt;unix&gt;.db.gz, compressed while it streams.</param>
    /// <param name="verify">
    /// true to run PRAGMA integrity_check on the snapshot before anything is sent and to get the SHA-256 of the
    /// body in Repr-Digest and X-Backup-SHA256. With compress=gzip the body is compressed to disk first, so the
    /// download starts later.
    /// </param>
    /// <param name="method">
    /// "vacuum" (VACUUM INTO: compact, rebuilt) or "pages" (the online backup API in one step: faster, but keeps
    /// free pages, where pruned rows may still be readable); without it, CoreScope:Backup:DefaultMethod.
    /// </param>
    /// <param name="cancellationToken">Stops the snapshot when the client goes away.</param>
    [HttpGet("backup")]
    [ProducesResponseType(typeof(FileResult), StatusCodes.Status200OK, "application/octet-stream", "application/gzip")]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status429TooManyRequests)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status500InternalServerError)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status507InsufficientStorage)]
    public async Task<IActionResult> GetBackup(
        [FromQuery] string? compress,
        [FromQuery] bool verify = false,
        [FromQuery] string? method = null,
        CancellationToken cancellationToken = default)
    {
        // In this order: a bad query (400) and a client without a permit left (429) are answered before the slot is
        // taken; the permit is spent only when the snapshot starts, after the slot (429) and the disk (507).
        var request = BackupQuery.Parse(compress, verify, method);
        var admission = permits.Check(HttpContext);
        var snapshot = await backupService.CreateSnapshotAsync(request, admission, cancellationToken);

        // The response owns the snapshot: when it ends, sent or aborted, the file is deleted and the slot freed.
        Response.RegisterForDisposeAsync(snapshot);
        return new BackupDownloadResult(snapshot, downloadOptions.Value, timeProvider, downloadLogger);
    }
}
