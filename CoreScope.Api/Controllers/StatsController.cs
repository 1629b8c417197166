using CoreScope.Api.Filters;
using CoreScope.Api.Diagnostics;
using CoreScope.Api.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Controllers;

/// <summary>Counts, health and request timings.</summary>
[ApiController]
[Route("api")]
public sealed class StatsController(ServerStatusService statusService, IOptionsMonitor<CoreScopeOptions> options) : ControllerBase
{
    [HttpGet("stats")]
    [ProducesResponseType(typeof(StatsResponse), StatusCodes.Status200OK)]
    public Task<StatsResponse> Stats(CancellationToken cancellationToken) => statusService.StatsAsync(cancellationToken);

    /// <summary>
    /// 200 "ok"; 200 "degraded" when the newest good backup is older than CoreScope:Backup:MaxAgeHours (the server
    /// works, its backups do not); 503 "down" when the database cannot be read. The backup member says when the last
    /// backup worked, failed and is next due. HEAD gives the same status without the body, for probes. An offsite
    /// target's failure reason is shown in full only to a request with the API key; without it, which target failed.
    /// </summary>
    [HttpGet("health")]
    [HttpHead("health")]
    [ProducesResponseType(typeof(HealthResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(HealthResponse), StatusCodes.Status503ServiceUnavailable)]
    public async Task<IActionResult> Health(CancellationToken cancellationToken)
    {
        var health = await statusService.HealthAsync(CarriesApiKey(), cancellationToken);
        return StatusCode(health.Status == HealthStatus.Down ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK, health);
    }

    /// <summary>
    /// The backup member of health alone: 200 while backups are fresh, 503 while the newest good backup is older
    /// than CoreScope:Backup:MaxAgeHours, for uptime checkers that read nothing but the HTTP status (HEAD too).
    /// </summary>
    [HttpGet("health/backup")]
    [HttpHead("health/backup")]
    [ProducesResponseType(typeof(BackupHealth), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(BackupHealth), StatusCodes.Status503ServiceUnavailable)]
    public IActionResult BackupHealth()
    {
        var backup = statusService.GetBackupHealth(CarriesApiKey());
        return StatusCode(backup.Stale ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK, backup);
    }

    private bool CarriesApiKey() => ApiKeyAuthorizationFilter.Authorizes(Request, options.CurrentValue.ApiKey);

    /// <summary>Request timings per route template, the slowest recent requests and the database's size.</summary>
    [HttpGet("perf")]
    [ProducesResponseType(typeof(PerfResponse), StatusCodes.Status200OK)]
    public Task<PerfResponse> Perf(CancellationToken cancellationToken) => statusService.PerfAsync(cancellationToken);

    /// <summary>Clears the request counters.</summary>
    [HttpPost("perf/reset")]
    [ApiKey]
    [ProducesResponseType(typeof(OkResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    public OkResponse ResetPerf()
    {
        statusService.ResetPerf();
        return new OkResponse(true);
    }
}
