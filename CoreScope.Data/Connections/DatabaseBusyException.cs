namespace CoreScope.Data.Connections;

/// <summary>A write waited as long as it may while a restore held the writer; try again after <see cref="RetryAfter"/>.</summary>
public sealed class DatabaseBusyException(TimeSpan retryAfter)
    : Exception($"The database is being restored, so writes wait. Try again in {Backup.RetryAfter.ToSeconds(retryAfter)} seconds.")
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
