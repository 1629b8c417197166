using Microsoft.AspNetCore.Mvc;

namespace CoreScope.Api.Filters;

/// <summary>Marks an action or controller as needing the admin API key (<see cref="ApiKeyAuthorizationFilter"/>).</summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class ApiKeyAttribute : TypeFilterAttribute
{
    public ApiKeyAttribute()
        : base(typeof(ApiKeyAuthorizationFilter))
    {
    }
}
