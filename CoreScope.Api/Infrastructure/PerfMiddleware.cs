using System.Diagnostics;
using Microsoft.AspNetCore.Routing;

namespace CoreScope.Api.Infrastructure;

/// <summary>Times every request and files it under its route template (<c>/api/packets/{id}</c>, not the id).</summary>
public sealed class PerfMiddleware(RequestDelegate next, PerfCollector collector)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();

        // Routing has chosen the endpoint already; read it now, since the exception handler clears it.
        var template = context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } raw }
            ? "/" + raw.TrimStart('/')
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
