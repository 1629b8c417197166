using CoreScope.Api.Backup;
using CoreScope.Api.Filters;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Drills;
using CoreScope.Data.Store;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>The backups the server keeps: make one, list, read, delete, download (resumable), links for browsers, and restore drills.</summary>
[ApiController]
[Route("api/backups")]
[ApiKey]
public sealed class BackupsController(BackupStore store, BackupLinks links, DrillService drills) : ControllerBase
{
    /// <summary>Makes a backup now and keeps it in the store; retention runs after it.</summary>
    /// <remarks>
    /// Takes the same one-at-a-time place and disk guard as GET /api/backup (429 with Retry-After, 507). The answer is
    /// the new backup's manifest, with its Location.
    /// </remarks>
    /// <param name="method">"vacuum" or "pages"; without it, CoreScope:Backup:DefaultMethod.</param>
    /// <param name="compress">"gzip" to store it compressed.</param>
    /// <param name="cancellationToken">Stops the snapshot when the client goes away; nothing of it is kept.</param>
    [HttpPost]
    [Produces("application/json")]
    [ProducesResponseType(typeof(BackupManifest), StatusCodes.Status201Created)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status429TooManyRequests)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status500InternalServerError)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status507InsufficientStorage)]
    public async Task<ActionResult<BackupManifest>> Create([FromQuery] string? method, [FromQuery] string? compress, CancellationToken cancellationToken)
    {
        var request = BackupQuery.Parse(compress, verify: false, method);
        var manifest = await store.StoreBackupAsync(BackupTrigger.Manual, request.Method, request.Gzip, cancellationToken);
        return CreatedAtAction(nameof(Get), new { id = manifest.Id }, manifest);
    }

    /// <summary>Every stored backup, newest first, damaged ones with their status; and the last failure to store one.</summary>
    [HttpGet]
    [Produces("application/json")]
    [ProducesResponseType(typeof(BackupListResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    public BackupListResponse List() => new(store.List(), store.LastFailure);

    /// <summary>One stored backup's manifest.</summary>
    /// <param name="id">The backup's id, as listed.</param>
    [HttpGet("{id}")]
    [Produces("application/json")]
    [ProducesResponseType(typeof(BackupManifest), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    public BackupManifest Get(string id) => store.Get(id);

    /// <summary>Deletes a stored backup (damaged ones too): its file and its manifest.</summary>
    /// <param name="id">The backup's id, as listed.</param>
    [HttpDelete("{id}")]
    [ProducesResponseType(StatusCodes.Status204NoContent)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    public NoContentResult Delete(string id)
    {
        store.Delete(id);
        return NoContent();
    }

    /// <summary>Downloads a stored backup's file; resumable.</summary>
    /// <remarks>
    /// Range (206; 416 past the end), If-Range, If-None-Match (304) against the ETag, which is the file's SHA-256 in
    /// quotes; Repr-Digest and X-Backup-SHA256 carry the same digest. The file's SHA-256 is checked against its
    /// manifest before it is served: a file changed on disk is refused with 409.
    /// </remarks>
    /// <param name="id">The backup's id, as listed.</param>
    /// <param name="cancellationToken">Stops checking the file when the client goes away.</param>
    [HttpGet("{id}/file")]
    [HttpHead("{id}/file")]
    [ProducesResponseType(typeof(FileResult), StatusCodes.Status200OK, "application/octet-stream", "application/gzip")]
    [ProducesResponseType(StatusCodes.Status206PartialContent)]
    [ProducesResponseType(StatusCodes.Status304NotModified)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status409Conflict)]
    [ProducesResponseType(StatusCodes.Status416RangeNotSatisfiable)]
    public async Task<PhysicalFileResult> Download(string id, CancellationToken cancellationToken) =>
        StoredBackupFileResult.Create(Response, await store.OpenForDownloadAsync(id, cancellationToken));

    /// <summary>A short-lived URL that downloads the backup without the API key, for a browser to save it straight to disk.</summary>
    /// <param name="id">The backup's id, as listed.</param>
    [HttpPost("{id}/link")]
    [Produces("application/json")]
    [ProducesResponseType(typeof(BackupLink), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    public BackupLink Link(string id) => links.Create(id);

    /// <summary>Restore drill: restores the stored backup into a scratch file and checks it; the verdict goes into its manifest.</summary>
    /// <remarks>
    /// The stored file's SHA-256 is compared with its manifest, then it goes through the restore's staging, checks and copy
    /// (into a scratch file in the backup temp folder, never the live database), then PRAGMA integrity_check,
    /// PRAGMA foreign_key_check and the rows of every table against the manifest. The answer is the manifest with its
    /// drill member, 200 whether the drill passed or failed (drill.outcome says which, drill.problems what was wrong).
    /// Takes the same one-at-a-time place as backups and restores (429 with Retry-After) and needs room in the temp
    /// folder for two copies of the database (507).
    /// </remarks>
    /// <param name="id">The backup's id, as listed.</param>
    /// <param name="cancellationToken">Stops the drill when the client goes away; nothing is recorded then.</param>
    [HttpPost("{id}/drill")]
    [Produces("application/json")]
    [ProducesResponseType(typeof(BackupManifest), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status429TooManyRequests)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status507InsufficientStorage)]
    public Task<BackupManifest> Drill(string id, CancellationToken cancellationToken) => drills.DrillAsync(id, cancellationToken);
}
