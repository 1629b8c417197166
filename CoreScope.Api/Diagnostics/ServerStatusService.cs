using System.Diagnostics;
using CoreScope.Data;
using CoreScope.Data.Connections;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Reads;

namespace CoreScope.Api.Diagnostics;

/// <summary>Puts together what <c>/api/stats</c>, <c>/api/health</c> and <c>/api/perf</c> report.</summary>
public sealed class ServerStatusService(
    StatsReader statsReader,
    DatabaseWriter writer,
    PerfCollector perfCollector,
    ServerInfo serverInfo,
    BackupActivity backupActivity,
    ILogger<ServerStatusService> logger)
{
    private const double Megabyte = 1024 * 1024;

    public async Task<StatsResponse> StatsAsync(CancellationToken cancellationToken)
    {
        var counts = await statsReader.CountAsync(cancellationToken);
        return new StatsResponse(
            counts.TotalObservations, counts.TotalTransmissions, counts.TotalObservations, counts.TotalNodes,
            counts.TotalNodesAllTime, counts.TotalObservers, counts.PacketsLastHour, counts.PacketsLast24h,
            ServerInfo.Engine, serverInfo.Version, serverInfo.Commit, counts.Counts);
    }

    /// <summary>
    /// The server's health: <c>status</c> is "down" when the database cannot be read, or when its file was deleted or
    /// replaced under the writer (reads of a replacement may work while every write is refused); "degraded" when
    /// backups are stale. <paramref name="withDetail"/>: the request carried the API key, so the reasons may name
    /// what only an operator should read (an offsite target's endpoint, bucket, prefix and its service's message).
    /// </summary>
    public async Task<HealthResponse> HealthAsync(bool withDetail, CancellationToken cancellationToken)
    {
        var error = writer.LostFileProblem();
        try
        {
            await statsReader.ProbeAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "The health probe could not read the database");
            // The kind of failure, not its message: a file-system message would put the server's paths in the answer.
            error ??= "The database cannot be read (" + (exception is System.Data.SQLite.SQLiteException sqlite ? "SQLite " + sqlite.ResultCode : exception.GetType().Name) +
                "); the server's log has the details.";
        }

        var perf = perfCollector.Snapshot();
        using var process = Process.GetCurrentProcess();
        var uptime = serverInfo.Uptime;
        var backup = GetBackupHealth(withDetail);
        return new HealthResponse(
            error is not null ? HealthStatus.Down : backup.Stale ? HealthStatus.Degraded : HealthStatus.Ok,
            ServerInfo.Engine,
            serverInfo.Version,
            SqliteConnectionFactory.EngineVersion,
            Math.Round(uptime.TotalSeconds, 1),
            Humanize(uptime),
            new MemoryUsage(
                Math.Round(process.WorkingSet64 / Megabyte, 1),
                Math.Round(GC.GetTotalMemory(forceFullCollection: false) / Megabyte, 1),
                Math.Round(GC.GetGCMemoryInfo().HeapSizeBytes / Megabyte, 1)),
            new HealthPerf(perf.TotalRequests, perf.AvgMs, perf.SlowCount, perf.SlowQueries.TakeLast(5).ToList()),
            backup,
            error);
    }

    /// <summary>
    /// The backup section of health alone, from memory: no database read, so it answers even when the database does
    /// not. Without <paramref name="withDetail"/> an offsite failure says only which target failed.
    /// </summary>
    public BackupHealth GetBackupHealth(bool withDetail)
    {
        var status = backupActivity.Status();
        return new BackupHealth(
            Iso(status.LastSuccessAt),
            status.LastSuccessAgeSeconds,
            status.LastSuccessSizeBytes,
            Iso(status.LastFailureAt),
            status.LastFailureReason,
            Iso(status.NextScheduledAt),
            Iso(status.LastDrillAt),
            status.LastDrillOutcome,
            status.StoredCount,
            status.FutureDatedCount,
            status.MaxAgeHours,
            status.Stale,
            backupActivity.OffsiteStatus() is { Count: > 0 } offsite
                ? offsite.Select(target => new OffsiteHealth(
                    target.Target, Iso(target.LastSuccessAt), target.LastSuccessBackupId, Iso(target.LastFailureAt),
                    withDetail || target.LastFailureReason is null ? target.LastFailureReason : GenericOffsiteFailure(target.Target), target.Failing)).ToList()
                : null);
    }

    // The reason names the endpoint, bucket and prefix, and the service's own words: for the operator, not for anyone
    // who can reach an unauthenticated health check.
    private static string GenericOffsiteFailure(string target) =>
        $"The copy to target {target} failed; the server's log has the reason, and so has this field with the API key.";

    private static string? Iso(DateTimeOffset? time) => time is { } value ? IsoTime.Format(value) : null;

    public async Task<PerfResponse> PerfAsync(CancellationToken cancellationToken)
    {
        var sizes = await statsReader.SizesAsync(cancellationToken);
        var perf = perfCollector.Snapshot();
        return new PerfResponse(perf.Uptime, perf.TotalRequests, perf.AvgMs, perf.Endpoints, perf.SlowQueries, sizes);
    }

    public void ResetPerf() => perfCollector.Reset();

    private static string Humanize(TimeSpan uptime) =>
        uptime.TotalDays >= 1 ? $"{(int)uptime.TotalDays}d {uptime.Hours}h {uptime.Minutes}m"
        : uptime.TotalHours >= 1 ? $"{uptime.Hours}h {uptime.Minutes}m"
        : $"{uptime.Minutes}m {uptime.Seconds}s";
}
