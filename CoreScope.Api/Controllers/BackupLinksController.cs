using CoreScope.Api.Backup;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>Downloads through a link made by <c>POST /api/backups/{id}/link</c>: no API key, the link is the permission.</summary>
[ApiController]
[Route(BackupLinks.RoutePrefix)]
public sealed class BackupLinksController(BackupLinks links) : ControllerBase
{
    /// <summary>Downloads the stored backup a link points to, resumable like GET /api/backups/{id}/file.</summary>
    /// <param name="token">The link's protected token.</param>
    /// <param name="expires">The link's expiry in Unix seconds, in clear, only for the wording of a refusal.</param>
    /// <param name="cancellationToken">Stops checking the file when the client goes away.</param>
    [HttpGet("{token}")]
    [HttpHead("{token}")]
    [ProducesResponseType(typeof(FileResult), StatusCodes.Status200OK, "application/octet-stream", "application/gzip")]
    [ProducesResponseType(StatusCodes.Status206PartialContent)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status409Conflict)]
    [ProducesResponseType(StatusCodes.Status416RangeNotSatisfiable)]
    public async Task<PhysicalFileResult> Download(string token, [FromQuery] long? expires, CancellationToken cancellationToken) =>
        StoredBackupFileResult.Create(Response, await links.OpenAsync(token, expires, cancellationToken));
}
