using System.Diagnostics;

namespace CoreScope.Bench;

/// <summary>Timings of repeated runs and the statistics the tables show.</summary>
public sealed record Timing(string Name, IReadOnlyList<double> Seconds, long OutputBytes, string? Note = null)
{
    public double Median => Percentile(0.5);

    public double Min => Seconds.Min();

    public double Max => Seconds.Max();

    public double Percentile(double quantile)
    {
        var sorted = Seconds.Order().ToArray();
        return sorted.Length == 0 ? double.NaN : sorted[(int)Math.Clamp(Math.Ceiling(quantile * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}

public static class Measure
{
    public static async Task<Timing> RunsAsync(string name, int runs, Func<int, Task<long>> run, string? note = null)
    {
        var seconds = new List<double>();
        long output = 0;
        for (var index = 0; index < runs; index++)
        {
            // Flush what earlier runs left dirty in the page cache, so no run pays for another's writes.
            await ProcessAsync("sync");
            var stopwatch = Stopwatch.StartNew();
            output = await run(index);
            seconds.Add(stopwatch.Elapsed.TotalSeconds);
        }

        return new Timing(name, seconds, output, note);
    }

    public static async Task ProcessAsync(string fileName, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + fileName);
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{fileName} {string.Join(' ', arguments)} failed: {error}");
        }
    }
}
