using CoreScope.Data.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Restore;

/// <summary>
/// Raises Kestrel's request body limit (30 MB by default, for every other action) to
/// <see cref="RestoreOptions.MaxUploadMB"/> on the action it marks, before anything reads the body.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RestoreUploadLimitAttribute : TypeFilterAttribute
{
    public RestoreUploadLimitAttribute()
        : base(typeof(RestoreUploadLimitFilter))
    {
    }
}

/// <summary>The filter behind <see cref="RestoreUploadLimitAttribute"/>; a resource filter runs before the body is touched.</summary>
public sealed class RestoreUploadLimitFilter(IOptions<RestoreOptions> options) : IResourceFilter
{
    public void OnResourceExecuting(ResourceExecutingContext context) =>
        RestoreUpload.RaiseBodyLimit(context.HttpContext, options.Value.MaxUploadMB);

    public void OnResourceExecuted(ResourceExecutedContext context)
    {
    }
}
