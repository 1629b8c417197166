using CoreScope.Data.Reads;
using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Controllers;

/// <summary>The observers that hear packets and report them.</summary>
[ApiController]
[Route("api/observers")]
public sealed class ObserversController(ObserverReader observerReader) : ControllerBase
{
    [HttpGet]
    [ProducesResponseType(typeof(ObserverList), StatusCodes.Status200OK)]
    public Task<ObserverList> List(CancellationToken cancellationToken) => observerReader.ListAsync(cancellationToken);
}
