using System.Diagnostics.Metrics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Threading.RateLimiting;
using CoreScope.Api.Filters;
using CoreScope.Api.Options;
using CoreScope.Data.Backup;
using CoreScope.Data.Diagnostics;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Backup;

/// <summary>
/// Backups one client may start per minute: a token bucket per client (the fingerprint of the key it presents plus
/// its address) with <see cref="BackupDownloadOptions.PermitsPerMinute"/> tokens a minute. A token is spent only when
/// a snapshot starts (<see cref="ISnapshotAdmission"/>): a request refused with 400, with 429 because another backup
/// holds the slot, or with 507 leaves it, so the corrected request does not wait a minute. The framework's
/// rate-limiting middleware took it before the action ran, whatever became of the request.
/// </summary>
public sealed class BackupPermits : IDisposable
{
    private const string OutcomeTag = "outcome";

    private readonly int _permitsPerMinute;
    private readonly PartitionedRateLimiter<string>? _buckets;
    private readonly Counter<long> _permits;

    public BackupPermits(IOptions<BackupDownloadOptions> options, CoreScopeMeter meter)
    {
        // In place of the framework's aspnetcore_rate_limiting_* (its middleware is no longer used): how many backups were
        // let start, and how many requests were turned away, from 0 so that increase() sees the first.
        _permits = meter.Meter.CreateCounter<long>(
            "corescope.backup.permits", description: "Backup permits: granted as a snapshot starts, refused with 429 when a client has none left.");
        _permits.Add(0, new KeyValuePair<string, object?>(OutcomeTag, "granted"));
        _permits.Add(0, new KeyValuePair<string, object?>(OutcomeTag, "refused"));
        _permitsPerMinute = options.Value.PermitsPerMinute;
        _buckets = _permitsPerMinute == 0 ? null : PartitionedRateLimiter.Create<string, string>(client =>
            RateLimitPartition.GetTokenBucketLimiter(client, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = _permitsPerMinute,
                TokensPerPeriod = _permitsPerMinute,
                ReplenishmentPeriod = TimeSpan.FromMinutes(1),
                QueueLimit = 0,
                AutoReplenishment = true,
            }));
    }

    /// <summary>
    /// The admission of one backup request. Throws <see cref="BackupRateLimitedException"/> at once when the client has
    /// no token left, so it is answered before it waits for the slot; the token itself goes when the snapshot starts.
    /// </summary>
    public ISnapshotAdmission Check(HttpContext context)
    {
        var admission = new Admission(this, ClientOf(context));
        Take(admission.Client, permits: 0);
        return admission;
    }

    public void Dispose() => _buckets?.Dispose();

    private static string ClientOf(HttpContext context) =>
        KeyFingerprint(context.Request.Headers[ApiKeyAuthorizationFilter.HeaderName].ToString())
        + "@" + (context.Connection.RemoteIpAddress ?? IPAddress.None);

    // Tells clients apart without keeping the key itself in memory as a dictionary key.
    private static string KeyFingerprint(string key) =>
        key.Length == 0 ? "no-key" : Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];

    // 0 permits asks whether a token is there without spending it (the limiter's own way to read its state).
    private void Take(string client, int permits)
    {
        if (_buckets is not null)
        {
            using var lease = _buckets.AttemptAcquire(client, permits);
            if (!lease.IsAcquired)
            {
                _permits.Add(1, new KeyValuePair<string, object?>(OutcomeTag, "refused"));
                var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
                throw new BackupRateLimitedException(_permitsPerMinute, wait);
            }
        }

        if (permits > 0)
        {
            _permits.Add(permits, new KeyValuePair<string, object?>(OutcomeTag, "granted"));
        }
    }

    private sealed class Admission(BackupPermits permits, string client) : ISnapshotAdmission
    {
        public string Client { get; } = client;

        public void Admit() => permits.Take(Client, permits: 1);
    }
}

/// <summary>The client started as many backups as it may this minute; try again after <see cref="RetryAfter"/>.</summary>
public sealed class BackupRateLimitedException(int permitsPerMinute, TimeSpan retryAfter)
    : Exception($"At most {permitsPerMinute} backup(s) per minute per client (CoreScope:Backup:PermitsPerMinute). " +
        $"Try again in {CoreScope.Data.Backup.RetryAfter.ToSeconds(retryAfter)} seconds.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
