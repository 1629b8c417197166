using CoreScope.Api.Filters;
using CoreScope.Api.Restore;
using CoreScope.Data.Offsite;
using CoreScope.Data.Options;
using CoreScope.Data.Restore;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Controllers;

/// <summary>The operator's restore: a checked copy goes into the live database while it keeps serving, behind the API key.</summary>
[ApiController]
[Route("api/admin")]
[ApiKey]
public sealed class RestoreController(RestoreService restoreService, OffsiteRestore offsiteRestore, IOptions<RestoreOptions> options) : ControllerBase
{
    /// <summary>
    /// Restores the database from the body (a .db or .db.gz) or from a stored backup (<paramref name="from"/>). Every
    /// check runs before anything changes; a safety copy is stored first and named in the answer.
    /// </summary>
    /// <param name="from">The id of a stored backup to restore instead of a body.</param>
    /// <param name="offsite">
    /// A copy on an offsite target to restore instead, as <c>{target}:{key}</c> (GET /api/offsite/backups lists them).
    /// An encrypted copy takes its private key and passphrase as a JSON body (<see cref="OffsiteRestoreKey"/>), for this request only.
    /// </param>
    /// <param name="dryRun">Run every check and stop: nothing changes.</param>
    /// <param name="dropTriggers">Drop the triggers the live database does not have from the restored copy, instead of refusing it (422).</param>
    /// <param name="cancellationToken">Ends the request when the client goes away (until the copy into the live file starts).</param>
    [HttpPost("restore")]
    [RestoreUpload]
    [ProducesResponseType(typeof(RestoreResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status409Conflict)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status413PayloadTooLarge)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status422UnprocessableEntity)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status429TooManyRequests)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status507InsufficientStorage)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status502BadGateway)]
    public async Task<RestoreResponse> Restore([FromQuery] string? from, [FromQuery] string? offsite, [FromQuery] bool dryRun, [FromQuery] bool dropTriggers,
        CancellationToken cancellationToken)
    {
        var request = RestoreUpload.ReadRequest(
            Request, dryRun, fromStoredBackup: from is not null || offsite is not null, bothSources: from is not null && offsite is not null, keyBody: offsite is not null)
            with { DropTriggers = dropTriggers };
        var result = offsite is not null
            ? await offsiteRestore.RestoreAsync(offsite, request, await OffsiteRestoreKey.ReadAsync(Request, cancellationToken), cancellationToken)
            : from is not null ? await restoreService.RestoreStoredAsync(from, request, cancellationToken)
            : await restoreService.RestoreAsync(RestoreUpload.Body(Request, options.Value.MaxUploadMB), "upload", request, cancellationToken);
        return RestoreResponse.From(result);
    }
}
