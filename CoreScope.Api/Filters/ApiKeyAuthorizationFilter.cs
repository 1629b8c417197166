using System.Security.Cryptography;
using System.Text;
using CoreScope.Api.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Filters;

/// <summary>
/// Lets a request through to an admin action only when it carries the configured key in <c>X-API-Key</c>:
/// 401 for a missing or wrong key, 403 when no key is configured or the configured key is weak. The key is
/// compared in constant time and never logged.
/// </summary>
public sealed class ApiKeyAuthorizationFilter(
    IOptionsMonitor<CoreScopeOptions> options,
    ProblemDetailsFactory problemDetailsFactory) : IAsyncAuthorizationFilter
{
    public const string HeaderName = "X-API-Key";

    public Task OnAuthorizationAsync(AuthorizationFilterContext context)
    {
        var configuredKey = options.CurrentValue.ApiKey;
        var httpContext = context.HttpContext;

        if (string.IsNullOrEmpty(configuredKey))
        {
            context.Result = Problem(httpContext, StatusCodes.Status403Forbidden, "Admin endpoints are disabled",
                "No API key is configured, so admin endpoints are disabled. Set CoreScope:ApiKey in appsettings.json " +
                $"or the environment variable CoreScope__ApiKey to a random string of at least {ApiKeyStrength.MinimumLength} characters, then restart.");
            return Task.CompletedTask;
        }

        var presentedKey = httpContext.Request.Headers[HeaderName].ToString();
        if (presentedKey.Length == 0 || !KeysMatch(presentedKey, configuredKey))
        {
            context.Result = Problem(httpContext, StatusCodes.Status401Unauthorized, "Unauthorized",
                $"Missing or invalid API key. Send the configured key in the {HeaderName} header.");
            return Task.CompletedTask;
        }

        if (ApiKeyStrength.Weakness(configuredKey) is { } weakness)
        {
            context.Result = Problem(httpContext, StatusCodes.Status403Forbidden, "Weak API key refused",
                $"The configured API key is weak ({weakness}), so admin endpoints refuse it. Configure a long random key " +
                "in CoreScope:ApiKey (for example openssl rand -hex 24) and restart.");
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Whether <paramref name="request"/> carries a key this filter would let through: for an open endpoint that
    /// shows more to an operator (health's offsite reasons) without refusing anyone.
    /// </summary>
    public static bool Authorizes(HttpRequest request, string? configuredKey)
    {
        var presentedKey = request.Headers[HeaderName].ToString();
        return !string.IsNullOrEmpty(configuredKey) && presentedKey.Length > 0 && KeysMatch(presentedKey, configuredKey)
            && ApiKeyStrength.Weakness(configuredKey) is null;
    }

    private static bool KeysMatch(string presented, string configured) =>
        CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented)),
            SHA256.HashData(Encoding.UTF8.GetBytes(configured)));

    private ObjectResult Problem(HttpContext httpContext, int status, string title, string detail)
    {
        var problem = problemDetailsFactory.CreateProblemDetails(httpContext, status, title, detail: detail);
        return new ObjectResult(problem) { StatusCode = status, ContentTypes = { "application/problem+json" } };
    }
}
