using System.Collections.Concurrent;
using System.Collections.Frozen;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace CoreScope.Api.Filters;

/// <summary>
/// Refuses a state-changing request (POST, PUT, PATCH, DELETE) with 400 when its query string holds a name the action
/// does not bind, or one name twice: <c>?dry_run=true</c> on a restore would otherwise be ignored and the restore run
/// for real. The names an action takes are its own query-bound parameters, read once per action, compared without
/// regard to case as the binder does (so <c>dryRun=true&amp;DRYRUN=false</c> is the same name twice). A resource filter,
/// so it runs after the API key's authorization filter (a stranger gets 401 and learns no names) and before model
/// binding reads a body or the action changes anything.
/// </summary>
public sealed class KnownQueryParametersFilter(ProblemDetailsFactory problemDetailsFactory) : IResourceFilter
{
    /// <summary>The methods whose actions change something; a GET with a stray parameter only reads.</summary>
    public static readonly FrozenSet<string> StateChangingMethods =
        FrozenSet.ToFrozenSet([HttpMethods.Post, HttpMethods.Put, HttpMethods.Patch, HttpMethods.Delete], StringComparer.OrdinalIgnoreCase);

    // The answer quotes what the client sent; a name of a megabyte, or ten thousand names, still gets a short answer.
    public const int MaxQuotedNameLength = 64;
    public const int MaxQuotedNames = 3;

    private readonly ConcurrentDictionary<string, FrozenSet<string>> _knownByAction = new(StringComparer.Ordinal);

    public void OnResourceExecuting(ResourceExecutingContext context)
    {
        var request = context.HttpContext.Request;
        if (!StateChangingMethods.Contains(request.Method) || request.Query.Count == 0)
        {
            return;
        }

        var known = _knownByAction.GetOrAdd(context.ActionDescriptor.Id, static (_, action) => QueryNames(action), context.ActionDescriptor);
        var unknown = request.Query.Keys.Where(name => !known.Contains(name)).ToList();
        var repeated = request.Query.Where(pair => pair.Value.Count > 1 && known.Contains(pair.Key)).Select(pair => pair.Key).ToList();
        if (unknown.Count == 0 && repeated.Count == 0)
        {
            return;
        }

        var takes = known.Count == 0
            ? "This endpoint takes no query parameters."
            : "This endpoint takes " + string.Join(", ", known.Order(StringComparer.Ordinal)) + ".";
        var error = unknown.Count > 0
            ? $"Unknown query parameter{(unknown.Count > 1 ? "s" : "")} {Quote(unknown)}: nothing was done. {takes}"
            : $"The query parameter {Quote(repeated)} is given more than once (names are compared without regard to case): nothing was done. Give it once.";
        var problem = problemDetailsFactory.CreateProblemDetails(context.HttpContext, StatusCodes.Status400BadRequest, "Bad request", detail: error);
        context.Result = new ObjectResult(problem) { StatusCode = StatusCodes.Status400BadRequest, ContentTypes = { "application/problem+json" } };
    }

    public void OnResourceExecuted(ResourceExecutedContext context)
    {
    }

    // [ApiController] has given every parameter its binding source by now: the ones from the query, and the ones
    // of a source that can read the query (none declared), are the names a client may send.
    private static FrozenSet<string> QueryNames(ActionDescriptor action) =>
        action.Parameters
            .Where(parameter => parameter.BindingInfo?.BindingSource is not { } source || ReadsQuery(source))
            .Select(parameter => parameter.BindingInfo?.BinderModelName ?? parameter.Name)
            .ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    private static bool ReadsQuery(BindingSource source) =>
        source == BindingSource.Query || source == BindingSource.ModelBinding || source == BindingSource.Custom
        || (source is CompositeBindingSource composite && composite.BindingSources.Contains(BindingSource.Query));

    private static string Quote(List<string> names)
    {
        var quoted = string.Join(", ", names.Take(MaxQuotedNames).Select(name =>
            "\"" + (name.Length > MaxQuotedNameLength ? name[..MaxQuotedNameLength] + "…" : name) + "\""));
        return names.Count > MaxQuotedNames ? $"{quoted} and {names.Count - MaxQuotedNames} more" : quoted;
    }
}
