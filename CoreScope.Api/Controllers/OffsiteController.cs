using CoreScope.Api.Filters;
using CoreScope.Api.Offsite;
using CoreScope.Data.Offsite;
using CoreScope.Data.Store;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>Copies of stored backups on S3-compatible storage and Azure Blob: copy one now, list what the targets hold.</summary>
[ApiController]
[ApiKey]
public sealed class OffsiteController(OffsiteUploader uploader, OffsiteCatalogue catalogue) : ControllerBase
{
    /// <summary>Copies a stored backup to every configured target now, with its manifest; retention on each target runs after.</summary>
    /// <remarks>
    /// One try per target (the copies after each stored backup retry with backoff; this answers at once). The answer is
    /// the backup's manifest, whose <c>offsite</c> lists each copy; 502 when a target failed, naming it and why.
    /// </remarks>
    /// <param name="id">The backup's id, as listed by GET /api/backups.</param>
    /// <param name="cancellationToken">Stops the upload when the client goes away; the target keeps nothing of it.</param>
    [HttpPost("api/backups/{id}/offsite")]
    [Produces("application/json")]
    [ProducesResponseType(typeof(BackupManifest), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status409Conflict)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status502BadGateway)]
    public Task<BackupManifest> Copy(string id, CancellationToken cancellationToken) => uploader.CopyNowAsync(id, cancellationToken);

    /// <summary>What each target holds, read from the manifests stored there: what a new machine can restore.</summary>
    /// <remarks>Each backup's <c>restore</c> is the value for POST /api/admin/restore?offsite= and for restore --from-offsite.</remarks>
    /// <param name="cancellationToken">Stops the listing when the client goes away.</param>
    [HttpGet("api/offsite/backups")]
    [Produces("application/json")]
    [ProducesResponseType(typeof(OffsiteListResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    public async Task<OffsiteListResponse> List(CancellationToken cancellationToken) => new(await catalogue.ListAsync(cancellationToken));
}
