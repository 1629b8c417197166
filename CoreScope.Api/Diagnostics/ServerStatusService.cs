using System.Diagnostics;
using CoreScope.Data.Reads;

namespace CoreScope.Api.Diagnostics;

/// <summary>Puts together what <c>/api/stats</c>, <c>/api/health</c> and <c>/api/perf</c> report.</summary>
public sealed class ServerStatusService(StatsReader statsReader, PerfCollector perfCollector, ServerInfo serverInfo, ILogger<ServerStatusService> logger)
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

    /// <summary>The server's health; <c>status</c> is "degraded" when the database cannot be read.</summary>
    public async Task<HealthResponse> HealthAsync(CancellationToken cancellationToken)
    {
        string? error = null;
        try
        {
            await statsReader.ProbeAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            logger.LogWarning(exception, "The health probe could not read the database");
            error = "The database cannot be read: " + exception.Message;
        }

        var perf = perfCollector.Snapshot();
        using var process = Process.GetCurrentProcess();
        var uptime = serverInfo.Uptime;
        return new HealthResponse(
            error is null ? "ok" : "degraded",
            ServerInfo.Engine,
            serverInfo.Version,
            Math.Round(uptime.TotalSeconds, 1),
            Humanize(uptime),
            new MemoryUsage(
                Math.Round(process.WorkingSet64 / Megabyte, 1),
                Math.Round(GC.GetTotalMemory(forceFullCollection: false) / Megabyte, 1),
                Math.Round(GC.GetGCMemoryInfo().HeapSizeBytes / Megabyte, 1)),
            new HealthPerf(perf.TotalRequests, perf.AvgMs, perf.SlowCount, perf.SlowQueries.TakeLast(5).ToList()),
            error);
    }

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
