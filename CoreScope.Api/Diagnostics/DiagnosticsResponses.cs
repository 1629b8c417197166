using CoreScope.Data.Reads;

namespace CoreScope.Api.Diagnostics;

public sealed record StatsResponse(
    long TotalPackets, long TotalTransmissions, long TotalObservations, long TotalNodes, long TotalNodesAllTime,
    long TotalObservers, long PacketsLastHour, long PacketsLast24h, string Engine, string Version, string Commit,
    RoleCounts Counts);

public sealed record MemoryUsage(double Rss, double HeapUsed, double HeapTotal);

public sealed record HealthPerf(long TotalRequests, double AvgMs, long SlowQueries, IReadOnlyList<SlowRequest> RecentSlow);

public sealed record HealthResponse(
    string Status, string Engine, string Version, double Uptime, string UptimeHuman, MemoryUsage Memory, HealthPerf Perf, string? Error);

public sealed record PerfResponse(
    double Uptime, long TotalRequests, double AvgMs, IReadOnlyDictionary<string, EndpointPerf> Endpoints,
    IReadOnlyList<SlowRequest> SlowQueries, DatabaseSizes Sqlite);

public sealed record OkResponse(bool Ok);
