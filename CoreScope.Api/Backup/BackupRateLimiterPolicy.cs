using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using CoreScope.Api.Filters;
using CoreScope.Api.Options;
using CoreScope.Data.Backup;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Backup;

/// <summary>
/// The backup's rate limit, on ASP.NET Core's rate limiter: a token bucket per client, where a client is the
/// fingerprint of the key it presents plus its address, refilled with <see cref="BackupDownloadOptions.PermitsPerMinute"/>
/// tokens a minute.
/// </summary>
public sealed class BackupRateLimiterPolicy(IOptions<BackupDownloadOptions> options) : IRateLimiterPolicy<string>
{
    public const string PolicyName = "backup";

    private readonly int _permitsPerMinute = options.Value.PermitsPerMinute;

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => OnRejectedAsync;

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        if (_permitsPerMinute == 0)
        {
            return RateLimitPartition.GetNoLimiter("unlimited");
        }

        var client = KeyFingerprint(httpContext.Request.Headers[ApiKeyAuthorizationFilter.HeaderName].ToString())
            + "@" + (httpContext.Connection.RemoteIpAddress ?? IPAddress.None);
        return RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = _permitsPerMinute,
            TokensPerPeriod = _permitsPerMinute,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    // Tells clients apart without keeping the key itself in memory as a dictionary key.
    private static string KeyFingerprint(string key) =>
        key.Length == 0 ? "no-key" : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];

    private async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var httpContext = context.HttpContext;
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
        var seconds = RetryAfter.ToSeconds(retryAfter);

        httpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await httpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many backup requests",
                Detail = $"At most {_permitsPerMinute} backup(s) per minute per client (CoreScope:Backup:PermitsPerMinute). " +
                    $"Try again in {seconds} seconds.",
            },
        });
    }
}
