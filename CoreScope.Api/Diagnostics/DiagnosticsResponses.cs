using CoreScope.Data.Reads;

namespace CoreScope.Api.Diagnostics;

public sealed record StatsResponse(
    long TotalPackets, long TotalTransmissions, long TotalObservations, long TotalNodes, long TotalNodesAllTime,
    long TotalObservers, long PacketsLastHour, long PacketsLast24h, string Engine, string Version, string Commit,
    RoleCounts Counts);

public sealed record MemoryUsage(double Rss, double HeapUsed, double HeapTotal);

public sealed record HealthPerf(long TotalRequests, double AvgMs, long SlowQueries, IReadOnlyList<SlowRequest> RecentSlow);

/// <summary>The server's health; <see cref="HealthStatus"/> lists what <c>status</c> can say.</summary>
public sealed record HealthResponse(
    string Status, string Engine, string Version, string SqliteVersion, double Uptime, string UptimeHuman, MemoryUsage Memory, HealthPerf Perf, BackupHealth Backup, string? Error);

/// <summary>
/// What health says of backups (docs/operators.md, "What to watch"). Times are ISO 8601 UTC; a member is null when
/// nothing of its kind has happened since the server started (or, for stored backups, was found in the store).
/// <c>StoredCount</c> and <c>FutureDatedCount</c> are what the store holds now (null until it was read), so an emptied
/// store shows as 0 beside a <c>lastSuccessAt</c> that no longer names a deleted backup.
/// </summary>
public sealed record BackupHealth(
    string? LastSuccessAt,
    double? LastSuccessAgeSeconds,
    long? LastSuccessSizeBytes,
    string? LastFailureAt,
    string? LastFailureReason,
    string? NextScheduledAt,
    string? LastDrillAt,
    string? LastDrillOutcome,
    int? StoredCount,
    int? FutureDatedCount,
    double? MaxAgeHours,
    bool Stale,
    IReadOnlyList<OffsiteHealth>? Offsite = null);

/// <summary>
/// One offsite target in health (docs/offsite.md): <c>failing</c> from a copy that gave up until the next that works.
/// A failing target does not make the server "degraded": the local backups are whole.
/// </summary>
public sealed record OffsiteHealth(string Target, string? LastSuccessAt, string? LastSuccessBackupId, string? LastFailureAt, string? LastFailureReason, bool Failing);

public sealed record PerfResponse(
    double Uptime, long TotalRequests, double AvgMs, IReadOnlyDictionary<string, EndpointPerf> Endpoints,
    IReadOnlyList<SlowRequest> SlowQueries, DatabaseSizes Sqlite);

public sealed record OkResponse(bool Ok);
