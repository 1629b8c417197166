namespace CoreScope.Data.Backup;

/// <summary>What a caller wants of a snapshot besides the copy itself.</summary>
/// <param name="Verify">Run <c>PRAGMA integrity_check</c> on the snapshot and compute the SHA-256 of what is sent.</param>
/// <param name="Gzip">Send it gzip-compressed.</param>
/// <param name="Method">How to write it; null means <see cref="Options.BackupOptions.DefaultMethod"/>.</param>
public sealed record SnapshotRequest(bool Verify = false, bool Gzip = false, Options.SnapshotMethod? Method = null);

/// <summary>
/// A finished snapshot in a staging folder of its own. Disposing it deletes the folder and frees its slot
/// (<see cref="SnapshotSlots"/>); whoever receives it owns it (for a download, the response).
/// </summary>
public sealed class BackupSnapshot : IAsyncDisposable
{
    private readonly StagingFolder? _stagingFolder;
    private readonly IDisposable _slot;
    private int _disposed;

    internal BackupSnapshot(string folderPath, IDisposable slot, StagingFolder? stagingFolder)
    {
        FolderPath = folderPath;
        _stagingFolder = stagingFolder;
        _slot = slot;
    }

    /// <summary>The staging folder, or for a snapshot written into a caller's file, that file's folder (never deleted).</summary>
    public string FolderPath { get; }

    /// <summary>The file to send: the database, or its gzip when it was compressed ahead (verify and gzip).</summary>
    public string FilePath { get; internal set; } = "";

    /// <summary>The size of <see cref="FilePath"/>.</summary>
    public long Length { get; internal set; }

    public DateTimeOffset CreatedAt { get; internal init; }

    public TimeSpan SnapshotDuration { get; internal set; }

    /// <summary>How the snapshot was written.</summary>
    public Options.SnapshotMethod Method { get; internal init; }

    /// <summary>Every table of the snapshot with its row count.</summary>
    public IReadOnlyDictionary<string, long> Rows { get; internal set; } = new Dictionary<string, long>();

    /// <summary>The schema steps recorded in the snapshot's <c>_migrations</c>, in the order they were applied.</summary>
    public IReadOnlyList<string> SchemaSteps { get; internal set; } = [];

    public long Transmissions => Rows.GetValueOrDefault("transmissions");

    public long Observations => Rows.GetValueOrDefault("observations");

    /// <summary>True when <see cref="FilePath"/> is already gzip; false when the caller must compress while sending.</summary>
    public bool IsCompressedOnDisk { get; internal set; }

    /// <summary>The gzip level to compress with while sending (<see cref="Options.BackupOptions.CompressionLevel"/>).</summary>
    public System.IO.Compression.CompressionLevel CompressionLevel { get; internal init; }

    /// <summary>Whether what is sent must be gzip (compressed on disk already, or to compress while sending).</summary>
    public bool Gzip { get; internal init; }

    /// <summary>The SHA-256 of <see cref="FilePath"/>, when verification was asked for.</summary>
    public byte[]? Sha256 { get; internal set; }

    /// <summary>The name an operator's download is saved under.</summary>
    public string DownloadFileName => $"corescope-backup-{CreatedAt.ToUnixTimeSeconds()}.db" + (Gzip ? ".gz" : "");

    public string ContentType => Gzip ? "application/gzip" : "application/octet-stream";

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            if (_stagingFolder is not null)
            {
                // Releases the folder's owner lock, then deletes the folder.
                _stagingFolder.Dispose();
            }
            else
            {
                StagingFiles.TryDelete(FilePath);
            }

            _slot.Dispose();
        }

        return ValueTask.CompletedTask;
    }
}
