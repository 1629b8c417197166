namespace CoreScope.Data.Backup;

/// <summary>
/// A finished snapshot in a staging folder of its own. Disposing it deletes the folder; it is safe to dispose
/// more than once and from more than one place (the response's completion, an error path).
/// </summary>
public sealed class BackupSnapshot(
    string folderPath,
    string filePath,
    long length,
    DateTimeOffset createdAt,
    TimeSpan snapshotDuration,
    long transmissions,
    long observations) : IAsyncDisposable
{
    private int _disposed;

    public string FolderPath { get; } = folderPath;

    public string FilePath { get; } = filePath;

    public long Length { get; } = length;

    public DateTimeOffset CreatedAt { get; } = createdAt;

    public TimeSpan SnapshotDuration { get; } = snapshotDuration;

    public long Transmissions { get; } = transmissions;

    public long Observations { get; } = observations;

    /// <summary>The name an operator's download is saved under.</summary>
    public string DownloadFileName => $"corescope-backup-{CreatedAt.ToUnixTimeSeconds()}.db";

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            SnapshotFolders.TryDelete(FolderPath);
        }

        return ValueTask.CompletedTask;
    }
}
