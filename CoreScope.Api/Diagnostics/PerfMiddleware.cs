using System.Diagnostics;
using CoreScope.Api.Infrastructure;

namespace CoreScope.Api.Diagnostics;

/// <summary>
/// Times every request and files it under its route template (<c>/api/packets/{id}</c>, not the id). The slow ones
/// are listed by template too: health and <c>/api/perf</c> answer without a key, and a raw path can be a download
/// link's token.
/// </summary>
public sealed class PerfMiddleware(RequestDelegate next, PerfCollector collector)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        var template = RequestRoute.TemplateOf(context);
        try
        {
            await next(context);
        }
        finally
        {
            collector.Record(template, Stopwatch.GetElapsedTime(started).TotalMilliseconds, context.Response.StatusCode);
        }
    }
}
