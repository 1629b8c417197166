using System.Net.Mime;
using CoreScope.Api.Filters;
using CoreScope.Api.Infrastructure;
using CoreScope.Api.Models;
using CoreScope.Data;
using CoreScope.Data.Backup;
using CoreScope.Data.Maintenance;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>Operator endpoints: backups and database maintenance. Every action needs the API key.</summary>
[ApiController]
[Route("api")]
[ApiKey]
public sealed class AdminController(BackupService backupService, PruneService pruneService) : ControllerBase
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
    /// deleted as soon as the response ends, whether the download finished or not.
    /// </remarks>
    [HttpGet("backup")]
    [ProducesResponseType(typeof(FileResult), StatusCodes.Status200OK, MediaTypeNames.Application.Octet)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized, "application/problem+json")]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden, "application/problem+json")]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status500InternalServerError, "application/problem+json")]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status507InsufficientStorage, "application/problem+json")]
    public async Task<IActionResult> GetBackup(CancellationToken cancellationToken)
    {
        var snapshot = await backupService.CreateSnapshotAsync(cancellationToken);

        // Runs after the last byte was sent or the client went away: the snapshot never outlives its response.
        Response.OnCompleted(() => snapshot.DisposeAsync().AsTask());

        var audit = HttpContext.Features.Get<BackupAuditRecord>();
        if (audit is not null)
        {
            audit.SnapshotMs = (long)snapshot.SnapshotDuration.TotalMilliseconds;
            audit.SnapshotBytes = snapshot.Length;
        }

        Response.Headers.XContentTypeOptions = "nosniff";
        Response.Headers.CacheControl = "no-store";
        Response.Headers["X-Backup-Rows-Transmissions"] = snapshot.Transmissions.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Response.Headers["X-Backup-Rows-Observations"] = snapshot.Observations.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Response.Headers["X-Backup-Snapshot-Ms"] = ((long)snapshot.SnapshotDuration.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Response.Headers.ContentDisposition = $"attachment; filename=\"{snapshot.DownloadFileName}\"";
        return PhysicalFile(snapshot.FilePath, MediaTypeNames.Application.Octet);
    }
}
