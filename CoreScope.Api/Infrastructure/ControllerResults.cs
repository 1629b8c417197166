using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Infrastructure;

/// <summary>Answers every controller gives the same way.</summary>
public static class ControllerResults
{
    /// <summary>The value, or a 404 ProblemDetails that says what was not found.</summary>
    public static ActionResult<T> OrNotFound<T>(this ControllerBase controller, T? value, string detail)
        where T : class =>
        value is not null ? value : controller.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail);
}
