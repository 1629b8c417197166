using CoreScope.Api.Filters;
using CoreScope.Api.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>Counts, health and request timings.</summary>
[ApiController]
[Route("api")]
public sealed class StatsController(ServerStatusService statusService) : ControllerBase
{
    [HttpGet("stats")]
    [ProducesResponseType(typeof(StatsResponse), StatusCodes.Status200OK)]
    public Task<StatsResponse> Stats(CancellationToken cancellationToken) => statusService.StatsAsync(cancellationToken);

    /// <summary>"ok", or 503 "degraded" when the database cannot be read.</summary>
    [HttpGet("health")]
    [ProducesResponseType(typeof(HealthResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(HealthResponse), StatusCodes.Status503ServiceUnavailable)]
    public async Task<IActionResult> Health(CancellationToken cancellationToken)
    {
        var health = await statusService.HealthAsync(cancellationToken);
        return StatusCode(health.Error is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, health);
    }

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
