namespace CoreScope.Data.Backup;

/// <summary>As many snapshots as allowed are being made or downloaded; try again after <see cref="RetryAfter"/>.</summary>
public sealed class BackupBusyException(int maxConcurrent, TimeSpan retryAfter)
    : Exception($"A backup is already running (at most {maxConcurrent} at once). Try again in {Backup.RetryAfter.ToSeconds(retryAfter)} seconds.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
