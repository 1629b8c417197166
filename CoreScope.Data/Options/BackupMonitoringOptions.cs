using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>
/// When health calls backups stale (section <c>CoreScope:Backup</c>, beside <c>BackupOptions</c>, so operators keep
/// one backup section). Meanings: docs/operators.md.
/// </summary>
public sealed class BackupMonitoringOptions
{
    public const string SectionName = "CoreScope:Backup";

    /// <summary>
    /// Health is "degraded" when the newest good backup is older than this many hours; unset means no such check.
    /// </summary>
    [Range(0.001, 100_000)]
    public double? MaxAgeHours { get; set; }
}
