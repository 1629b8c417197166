using System.ComponentModel.DataAnnotations;
using System.IO.Compression;

namespace CoreScope.Data.Options;

/// <summary>How a snapshot is written; both are one read transaction, consistent under writers.</summary>
public enum SnapshotMethod
{
    /// <summary><c>VACUUM INTO</c>: a compact, rebuilt copy without free pages.</summary>
    Vacuum,

    /// <summary>
    /// SQLite's online backup API in one step: a page-for-page copy, faster, keeping the source's free pages
    /// (where rows deleted by a prune may still be readable) and its WAL header.
    /// </summary>
    Pages,
}

/// <summary>
/// How snapshots are made (section <c>CoreScope:Backup</c>); how they are served is the API's
/// <c>BackupDownloadOptions</c>, bound to the same section. Defaults and meanings: docs/backup.md.
/// </summary>
public sealed class BackupOptions
{
    public const string SectionName = "CoreScope:Backup";

    /// <summary>Where snapshots are staged, each in a folder of its own; empty means the system temp folder.</summary>
    public string? TempDirectory { get; set; }

    /// <summary>
    /// Free space the temp folder must have beyond the database's used size before a snapshot starts, in MB.
    /// </summary>
    [Range(0, 1_000_000)]
    public long FreeSpaceMarginMB { get; set; } = 64;

    /// <summary>Snapshots being made or downloaded at once; a request beyond this is answered 429 at once.</summary>
    [Range(1, 64)]
    public int MaxConcurrent { get; set; } = 1;

    /// <summary>The gzip level of <c>compress=gzip</c>; the fastest keeps a backup close to disk speed.</summary>
    [EnumDataType(typeof(CompressionLevel))]
    public CompressionLevel CompressionLevel { get; set; } = CompressionLevel.Fastest;

    /// <summary>How a snapshot is made when the request does not say (<c>?method=</c>).</summary>
    [EnumDataType(typeof(SnapshotMethod))]
    public SnapshotMethod DefaultMethod { get; set; } = SnapshotMethod.Vacuum;

    /// <summary>The staging folder actually used.</summary>
    public string ResolvedTempDirectory =>
        string.IsNullOrWhiteSpace(TempDirectory) ? Path.GetTempPath() : TempDirectory;
}
