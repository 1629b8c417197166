using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using CoreScope.Api.Filters;
using CoreScope.Data.Options;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// The backup's rate limit, on ASP.NET Core's rate limiter: a token bucket per client, where a client is the
/// fingerprint of the key it presents plus its address, refilled with <see cref="BackupOptions.PermitsPerMinute"/>
/// tokens a minute.
/// </summary>
public static class BackupRateLimiting
{
    public const string PolicyName = "backup";

    public static void Configure(RateLimiterOptions options)
    {
        options.AddPolicy(PolicyName, Partition);
        options.OnRejected = OnRejectedAsync;
    }

    private static RateLimitPartition<string> Partition(HttpContext context)
    {
        var permitsPerMinute = context.RequestServices.GetRequiredService<IOptions<BackupOptions>>().Value.PermitsPerMinute;
        if (permitsPerMinute == 0)
        {
            return RateLimitPartition.GetNoLimiter("unlimited");
        }

        var client = KeyFingerprint(context.Request.Headers[ApiKeyAuthorizationFilter.HeaderName].ToString())
            + "@" + (context.Connection.RemoteIpAddress ?? IPAddress.None);
        return RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = permitsPerMinute,
            TokensPerPeriod = permitsPerMinute,
            ReplenishmentPeriod = TimeSpan.FromMinutes(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    }

    // Tells clients apart without keeping the key itself in memory as a dictionary key.
    private static string KeyFingerprint(string key) =>
        key.Length == 0 ? "no-key" : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];

    private static async ValueTask OnRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var httpContext = context.HttpContext;
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
        var permitsPerMinute = httpContext.RequestServices.GetRequiredService<IOptions<BackupOptions>>().Value.PermitsPerMinute;

        httpContext.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        httpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await httpContext.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status429TooManyRequests,
                Title = "Too many backup requests",
                Detail = $"At most {permitsPerMinute} backup(s) per minute per client (CoreScope:Backup:PermitsPerMinute). " +
                    $"Try again in {seconds} seconds.",
            },
        });
    }
}
