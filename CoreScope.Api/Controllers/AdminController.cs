using System.Globalization;
using CoreScope.Api.Filters;
using CoreScope.Api.Maintenance;
using CoreScope.Data;
using CoreScope.Data.Maintenance;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>Database maintenance for operators. Every action needs the API key.</summary>
[ApiController]
[Route("api/admin")]
[ApiKey]
public sealed class AdminController(PruneService pruneService) : ControllerBase
{
    /// <summary>Deletes packets older than <paramref name="days"/> days and marks silent observers inactive.</summary>
    /// <param name="days">Age in days; without it, CoreScope:Retention:PacketDays.</param>
    /// <param name="cancellationToken">Ends the request when the client goes away.</param>
    [HttpPost("prune")]
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

    // "days=abc" must get the same answer as no days at all, not the framework's model-binding message; a whole number
    // too large for an int is out of range rather than missing.
    private static int? ParseDays(string? days) =>
        string.IsNullOrWhiteSpace(days) ? null
        : int.TryParse(days, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value
        : days.Trim().All(char.IsAsciiDigit) ? throw new InvalidInputException(PruneService.DaysOutOfRange(days.Trim()))
        : throw new InvalidInputException(PruneService.DaysRequiredMessage);
}
