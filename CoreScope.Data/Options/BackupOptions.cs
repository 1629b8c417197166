using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>How snapshots for <c>GET /api/backup</c> are made (section <c>CoreScope:Backup</c>).</summary>
public sealed class BackupOptions
{
    public const string SectionName = "CoreScope:Backup";

    /// <summary>
    /// Where snapshots are staged, each in a folder of its own; empty means the system temp folder.
    /// </summary>
    public string? TempDirectory { get; set; }

    /// <summary>
    /// Free space the temp folder must have beyond the database's used size before a snapshot starts, in MB.
    /// </summary>
    [Range(0, 1_000_000)]
    public long FreeSpaceMarginMB { get; set; } = 64;

    /// <summary>The staging folder actually used.</summary>
    public string ResolvedTempDirectory =>
        string.IsNullOrWhiteSpace(TempDirectory) ? System.IO.Path.GetTempPath() : TempDirectory;
}
