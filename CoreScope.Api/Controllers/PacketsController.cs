using System.Net.Mime;
using CoreScope.Api.Filters;
using CoreScope.Api.Infrastructure;
using CoreScope.Api.Packets;
using CoreScope.Data.Packets;
using CoreScope.Data.Reads;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>Packets: ingest (with the API key), decode, and reads.</summary>
/// <remarks>
/// No controller here carries [Produces("application/json")]: it would also stamp application/json on the
/// framework's own 400 ProblemDetails, which must go out as application/problem+json.
/// </remarks>
[ApiController]
[Route("api")]
public sealed class PacketsController(PacketIngestService ingestService, PacketReader packetReader) : ControllerBase
{
    /// <summary>Stores one observer's report of a packet.</summary>
    [HttpPost("packets")]
    [ApiKey]
    [RequestSizeLimit(PacketRequestLimits.MaxBodyBytes)]
    [Consumes(MediaTypeNames.Application.Json)]
    [ProducesResponseType(typeof(IngestResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status401Unauthorized)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status403Forbidden)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status413PayloadTooLarge)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status503ServiceUnavailable)]
    public async Task<IngestResponse> Ingest(IngestPacketRequest request, CancellationToken cancellationToken)
    {
        var result = await ingestService.IngestAsync(
            new PacketReport(request.Hex, request.Observer, request.Snr, request.Rssi, request.Region), cancellationToken);
        return new IngestResponse(result.Id, result.ObservationId, result.Hash, result.IsNew, result.Decoded);
    }

    /// <summary>Decodes a packet and computes its hash; nothing is stored.</summary>
    [HttpPost("decode")]
    [RequestSizeLimit(PacketRequestLimits.MaxBodyBytes)]
    [Consumes(MediaTypeNames.Application.Json)]
    [ProducesResponseType(typeof(DecodeResponse), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status413PayloadTooLarge)]
    public DecodeResponse Decode(DecodePacketRequest request)
    {
        var decoded = PacketDecoder.Decode(request.Hex);
        return new DecodeResponse(decoded, decoded.Hash);
    }

    /// <summary>Transmissions, newest first, with their observation counts.</summary>
    [HttpGet("packets")]
    [ProducesResponseType(typeof(PacketList), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    public Task<PacketList> List(string? limit, string? offset, CancellationToken cancellationToken) =>
        packetReader.ListAsync(Page.From(QueryNumbers.Parse(limit, nameof(limit)), QueryNumbers.Parse(offset, nameof(offset))), cancellationToken);

    /// <summary>One transmission with all its observations.</summary>
    [HttpGet("packets/{id:long}")]
    [ProducesResponseType(typeof(PacketDetail), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    public async Task<ActionResult<PacketDetail>> Get(long id, CancellationToken cancellationToken) =>
        this.OrNotFound(await packetReader.GetAsync(id, cancellationToken), $"No packet with id {id}.");
}
