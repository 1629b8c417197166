using System.ComponentModel.DataAnnotations;

namespace CoreScope.Api.Options;

/// <summary>
/// How backups are served over HTTP (section <c>CoreScope:Backup</c>, shared with the data layer's
/// <c>BackupOptions</c>, which says how snapshots are made). Defaults and meanings: docs/backup.md.
/// </summary>
public sealed class BackupDownloadOptions
{
    public const string SectionName = "CoreScope:Backup";

    /// <summary>Backups one client (API-key fingerprint and address) may start per minute; 0 turns the limit off.</summary>
    [Range(0, 10_000)]
    public int PermitsPerMinute { get; set; } = 1;

    /// <summary>A download still running after this many seconds is aborted and its snapshot deleted.</summary>
    [Range(1, 7 * 24 * 3600)]
    public int MaxDownloadSeconds { get; set; } = 1800;

    /// <summary>
    /// A download slower than this, after a 5-second grace period, is aborted (Kestrel's minimum response data
    /// rate); 0 turns the check off.
    /// </summary>
    [Range(0, 1_000_000_000)]
    public int MinDownloadBytesPerSecond { get; set; } = 240;
}
