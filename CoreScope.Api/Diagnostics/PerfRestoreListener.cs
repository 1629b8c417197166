using CoreScope.Data.Restore;

namespace CoreScope.Api.Diagnostics;

/// <summary>After a restore the timings described a database that is gone; they start again from zero.</summary>
public sealed class PerfRestoreListener(PerfCollector collector) : IRestoreListener
{
    public void OnRestored(RestoreResult result) => collector.Reset();
}
