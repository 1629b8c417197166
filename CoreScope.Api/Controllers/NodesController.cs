using CoreScope.Api.Infrastructure;
using CoreScope.Data.Reads;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>The nodes the mesh announced in ADVERT packets.</summary>
[ApiController]
[Route("api/nodes")]
public sealed class NodesController(NodeReader nodeReader) : ControllerBase
{
    /// <summary>Nodes, most recently heard first, optionally of one role (repeater, room, companion, sensor).</summary>
    [HttpGet]
    [ProducesResponseType(typeof(NodeList), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status400BadRequest)]
    public Task<NodeList> List(string? limit, string? offset, string? role, CancellationToken cancellationToken) =>
        nodeReader.ListAsync(Page.From(QueryNumbers.Parse(limit, nameof(limit)), QueryNumbers.Parse(offset, nameof(offset))), role, cancellationToken);

    /// <summary>One node by its public key.</summary>
    [HttpGet("{pubkey}")]
    [ProducesResponseType(typeof(Node), StatusCodes.Status200OK)]
    [ProducesResponseType(typeof(ProblemDetails), StatusCodes.Status404NotFound)]
    public async Task<ActionResult<Node>> Get(string pubkey, CancellationToken cancellationToken) =>
        this.OrNotFound(await nodeReader.GetAsync(pubkey, cancellationToken), $"No node with public key {pubkey}.");
}
