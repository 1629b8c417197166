using CoreScope.Data.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Restore;

/// <summary>
/// Marks an action whose body is a raw file read as a stream: Kestrel's body limit (30 MB for every other action) is
/// raised to <see cref="RestoreOptions.MaxUploadMB"/>, and model binding never reads the body as a form, which it
/// otherwise does for <c>curl --data-binary</c>'s default form content type (and fails on a database's bytes).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class RestoreUploadAttribute : TypeFilterAttribute
{
    public RestoreUploadAttribute()
        : base(typeof(RestoreUploadFilter))
    {
    }
}

/// <summary>The filter behind <see cref="RestoreUploadAttribute"/>; a resource filter runs before anything touches the body.</summary>
public sealed class RestoreUploadFilter(IOptions<RestoreOptions> options) : IResourceFilter
{
    public void OnResourceExecuting(ResourceExecutingContext context)
    {
        RestoreUpload.RaiseBodyLimit(context.HttpContext, options.Value.MaxUploadMB);
        var factories = context.ValueProviderFactories;
        factories.RemoveType<FormValueProviderFactory>();
        factories.RemoveType<FormFileValueProviderFactory>();
        factories.RemoveType<JQueryFormValueProviderFactory>();
    }

    public void OnResourceExecuted(ResourceExecutedContext context)
    {
    }
}
