using System.Net.Mime;
using CoreScope.Api.Filters;
using CoreScope.Api.Infrastructure;
using CoreScope.Data.Backup;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>Operator endpoints: backups and database maintenance. Every action needs the API key.</summary>
[ApiController]
[Route("api")]
[ApiKey]
[Produces(MediaTypeNames.Application.Json)]
public sealed class AdminController(BackupService backupService) : ControllerBase
{
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
