using System.Diagnostics;

namespace CoreScope.Api.Diagnostics;

/// <summary>Times every request and files it under its route template (<c>/api/packets/{id}</c>, not the id).</summary>
public sealed partial class PerfMiddleware(RequestDelegate next, PerfCollector collector)
{
    // "{id:long}" is reported as "{id}": the constraint is how we route, not what the client called.
    [System.Text.RegularExpressions.GeneratedRegex(@"\{(\w+)(:[^}]*)\}")]
    private static partial System.Text.RegularExpressions.Regex RouteConstraint();

    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();

        // Routing has chosen the endpoint already; read it now, since the exception handler clears it.
        var template = context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } raw }
            ? "/" + RouteConstraint().Replace(raw.TrimStart('/'), "{$1}")
            : "(unmatched)";
        try
        {
            await next(context);
        }
        finally
        {
            collector.Record(template, context.Request.Path, Stopwatch.GetElapsedTime(started).TotalMilliseconds, context.Response.StatusCode);
        }
    }
}
