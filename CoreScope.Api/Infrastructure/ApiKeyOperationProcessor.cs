using System.Reflection;
using CoreScope.Api.Filters;
using NSwag.Generation.Processors;
using NSwag.Generation.Processors.Contexts;
using NSwag.Generation.Processors.Security;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// Puts the API-key security requirement on exactly the operations guarded by <see cref="ApiKeyAttribute"/>, so
/// Swagger UI sends <c>X-API-Key</c> after Authorize and the document says which operations need it.
/// </summary>
public sealed class ApiKeyOperationProcessor(string schemeName) : IOperationProcessor
{
    private readonly OperationSecurityScopeProcessor _securityScope = new(schemeName);

    public bool Process(OperationProcessorContext context)
    {
        var needsKey = context.MethodInfo.GetCustomAttribute<ApiKeyAttribute>() is not null
            || context.ControllerType.GetCustomAttribute<ApiKeyAttribute>() is not null;
        return !needsKey || _securityScope.Process(context);
    }
}
