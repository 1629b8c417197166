using System.Collections.Concurrent;
using System.Diagnostics;

namespace CoreScope.Api.Diagnostics;

public sealed record EndpointPerf(long Count, double AvgMs, double P50Ms, double P95Ms, double MaxMs);

/// <summary>A request over the slow threshold; <paramref name="Path"/> is its route template, never the raw path.</summary>
public sealed record SlowRequest(string Path, double Ms, string Time, int Status);

public sealed record PerfSnapshot(
    double Uptime, long TotalRequests, double AvgMs, IReadOnlyDictionary<string, EndpointPerf> Endpoints,
    IReadOnlyList<SlowRequest> SlowQueries, long SlowCount);

/// <summary>
/// Request timings per route template. Recording is lock-free (interlocked counters and a ring of recent
/// samples per endpoint), so measuring costs a request nothing it would notice; percentiles are computed
/// only when someone asks.
/// </summary>
public sealed class PerfCollector(TimeProvider timeProvider)
{
    public const double SlowThresholdMs = 100;
    private const int SlowKept = 20;

    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private State _state = new();

    public void Record(string template, double milliseconds, int status)
    {
        var state = Volatile.Read(ref _state);
        state.Endpoints.GetOrAdd(template, static _ => new EndpointStats()).Record(milliseconds);
        Interlocked.Increment(ref state.TotalRequests);
        InterlockedAdd(ref state.TotalMs, milliseconds);

        if (milliseconds > SlowThresholdMs)
        {
            Interlocked.Increment(ref state.SlowCount);
            state.Slow.Enqueue(new SlowRequest(template, Math.Round(milliseconds, 1), Data.IsoTime.Format(timeProvider.GetUtcNow()), status));
            while (state.Slow.Count > SlowKept && state.Slow.TryDequeue(out _))
            {
            }
        }
    }

    /// <summary>Starts every counter again from zero.</summary>
    public void Reset() => Volatile.Write(ref _state, new State());

    public PerfSnapshot Snapshot()
    {
        var state = Volatile.Read(ref _state);
        var total = Interlocked.Read(ref state.TotalRequests);
        return new PerfSnapshot(
            Math.Round(Stopwatch.GetElapsedTime(_startedAt).TotalSeconds, 1),
            total,
            total == 0 ? 0 : Math.Round(Volatile.Read(ref state.TotalMs) / total, 2),
            state.Endpoints.OrderBy(pair => pair.Key, StringComparer.Ordinal).ToDictionary(pair => pair.Key, pair => pair.Value.Snapshot()),
            state.Slow.ToArray(),
            Interlocked.Read(ref state.SlowCount));
    }

    private static void InterlockedAdd(ref double target, double value)
    {
        double initial;
        do
        {
            initial = Volatile.Read(ref target);
        }
        while (Interlocked.CompareExchange(ref target, initial + value, initial) != initial);
    }

    private sealed class State
    {
        public readonly ConcurrentDictionary<string, EndpointStats> Endpoints = new(StringComparer.Ordinal);
        public readonly ConcurrentQueue<SlowRequest> Slow = new();
        public long TotalRequests;
        public double TotalMs;
        public long SlowCount;
    }

    private sealed class EndpointStats
    {
        private const int Samples = 1024;
        private readonly double[] _recent = new double[Samples];
        private long _count;
        private double _totalMs;
        private double _maxMs;

        public void Record(double milliseconds)
        {
            var index = Interlocked.Increment(ref _count) - 1;
            _recent[index % Samples] = milliseconds;
            InterlockedAdd(ref _totalMs, milliseconds);
            double max;
            while (milliseconds > (max = Volatile.Read(ref _maxMs))
                && Interlocked.CompareExchange(ref _maxMs, milliseconds, max) != max)
            {
            }
        }

        public EndpointPerf Snapshot()
        {
            var count = Interlocked.Read(ref _count);
            var recent = _recent.AsSpan(0, (int)Math.Min(count, Samples)).ToArray();
            Array.Sort(recent);
            return new EndpointPerf(
                count,
                count == 0 ? 0 : Math.Round(Volatile.Read(ref _totalMs) / count, 2),
                Math.Round(Percentile(recent, 0.50), 2),
                Math.Round(Percentile(recent, 0.95), 2),
                Math.Round(Volatile.Read(ref _maxMs), 2));
        }

        private static double Percentile(double[] sorted, double quantile) =>
            sorted.Length == 0 ? 0 : sorted[(int)Math.Min(sorted.Length - 1, Math.Ceiling(quantile * sorted.Length) - 1)];
    }
}
