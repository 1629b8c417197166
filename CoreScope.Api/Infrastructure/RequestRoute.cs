using System.Text.RegularExpressions;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// What this server records of a request's address: its route template (<c>/api/backups/{id}/file</c>), never its raw
/// path. A raw path can carry a secret — a download link's token is a path segment that downloads the whole database
/// while the link lives — and anything that keeps or shows paths (timings in unauthenticated health, audit lines,
/// error logs) would hand it on. The template is read once, right after routing, and kept on the request: the
/// exception handler clears the endpoint before anyone records the outcome.
/// </summary>
public static partial class RequestRoute
{
    /// <summary>What a request that matched no route is recorded as: its path is whatever the client sent.</summary>
    public const string Unmatched = "(unmatched)";

    /// <summary>The request's route template, with route constraints left out (<c>{id:long}</c> is <c>{id}</c>).</summary>
    public static string TemplateOf(HttpContext context)
    {
        if (context.Features.Get<RouteTemplateFeature>() is { } kept)
        {
            return kept.Template;
        }

        var endpoint = context.GetEndpoint();
        var template = endpoint is RouteEndpoint { RoutePattern.RawText: { } raw }
            ? "/" + RouteConstraint().Replace(raw.TrimStart('/'), "{$1}")
            : Unmatched;
        if (endpoint is not null)
        {
            context.Features.Set(new RouteTemplateFeature(template));
        }

        return template;
    }

    /// <summary>Keeps every request's template from the start of the pipeline, before an error can clear its endpoint.</summary>
    public static WebApplication UseRequestRoutes(this WebApplication app)
    {
        app.Use((context, next) =>
        {
            TemplateOf(context);
            return next(context);
        });
        return app;
    }

    // "{id:long}" is reported as "{id}": the constraint is how we route, not what the client called.
    [GeneratedRegex(@"\{(\w+)(:[^}]*)\}")]
    private static partial Regex RouteConstraint();

    private sealed record RouteTemplateFeature(string Template);
}
