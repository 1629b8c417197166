using CoreScope.Api.Filters;
using CoreScope.Api.Infrastructure;
using CoreScope.Api.Models;
using CoreScope.Data;
using CoreScope.Data.Backup;
using CoreScope.Data.Maintenance;
using CoreScope.Data.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Controllers;

/// <summary>Operator endpoints: backups and database maintenance. Every action needs the API key.</summary>
[ApiController]
[Route("api")]
[ApiKey]
public sealed class AdminController(
    BackupService backupService,
    PruneService pruneService,
    IOptions<BackupOptions> backupOptions) : ControllerBase
{
    /// <summary>Deletes packets older than <paramref name="days"/> days and marks silent observers inactive.</summary>
    /// <param name="days">Age in days; without it, CoreScope:Retention:PacketDays.</param>
    /// <param name="cancellationToken">Ends the request when the client goes away.</param>
    [HttpPost("admin/prune")]
    [ProducesResponseType(typeof(PruneResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    public async Task<PruneResponse> Prune([FromQuery] string? days, CancellationToken cancellationToken)
    {
        var result = await pruneService.PruneAsync(ParseDays(days), cancellationToken);
        return new PruneResponse(
            result.TransmissionsDeleted, result.TransmissionsDeleted, result.ObservationsDeleted, result.ObserversMarkedInactive, result.Days);
    }

    // "days=abc" must get the same answer as no days at all, not the framework's model-binding message.
    private static int? ParseDays(string? days) =>
        string.IsNullOrWhiteSpace(days) ? null
        : int.TryParse(days, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value
        : throw new InvalidInputException("days parameter required (or set retention.packetDays in config)");

    /// <summary>Downloads a complete, consistent SQLite snapshot of the live database.</summary>
    /// <remarks>
    /// The snapshot is made with VACUUM INTO while writers keep writing, staged in a temp folder of its own and
    /// deleted as soon as the response ends, whether the download finished or not. Limits, all under
    /// CoreScope:Backup: PermitsPerMinute backups per client (key fingerprint and address) per minute, default 1,
    /// 0 = off; MaxConcurrent snapshots at once, default 1 (429 with Retry-After beyond either);
    /// MaxDownloadSeconds, default 1800, and MinDownloadBytesPerSecond, default 240, after which a download is cut;
    /// FreeSpaceMarginMB, default 64, needed in the temp folder beyond the database's used size (else 507);
    /// CompressionLevel for gzip, default Fastest; DefaultMethod, default vacuum.
    /// Headers: X-Backup-Rows-Transmissions, X-Backup-Rows-Observations, X-Backup-Snapshot-Ms, X-Backup-Method, and
    /// with verify=true Repr-Digest and X-Backup-SHA256.
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
    [EnableRateLimiting(BackupRateLimiting.PolicyName)]
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
        var request = new SnapshotRequest(verify, ParseCompression(compress), ParseMethod(method));
        var snapshot = await backupService.CreateSnapshotAsync(request, cancellationToken);

        // Runs after the last byte was sent or the client went away: the snapshot never outlives its response.
        Response.OnCompleted(() => snapshot.DisposeAsync().AsTask());

        if (HttpContext.Features.Get<BackupAuditRecord>() is { } audit)
        {
            audit.SnapshotMs = (long)snapshot.SnapshotDuration.TotalMilliseconds;
            audit.SnapshotBytes = snapshot.Length;
        }

        return new BackupDownloadResult(snapshot, backupOptions.Value);
    }

    private static SnapshotMethod? ParseMethod(string? method) =>
        string.IsNullOrEmpty(method) ? null
        : Enum.TryParse<SnapshotMethod>(method, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed) ? parsed
        : throw new InvalidInputException($"method must be \"vacuum\" or \"pages\"; \"{method}\" is not a snapshot method.");

    private static bool ParseCompression(string? compress) =>
        string.IsNullOrEmpty(compress) || compress.Equals("none", StringComparison.OrdinalIgnoreCase) ? false
        : compress.Equals("gzip", StringComparison.OrdinalIgnoreCase) ? true
        : throw new InvalidInputException($"compress must be \"gzip\" (or left out); \"{compress}\" is not a format this server writes.");
}
