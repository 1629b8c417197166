using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>How restores are checked and applied (section <c>CoreScope:Restore</c>). Defaults and meanings: docs/restore.md.</summary>
public sealed class RestoreOptions
{
    public const string SectionName = "CoreScope:Restore";

    /// <summary>The largest upload accepted, as sent (a <c>.db.gz</c> counts compressed), in MB; Kestrel's body limit for the restore.</summary>
    [Range(1, 1_000_000)]
    public long MaxUploadMB { get; set; } = 4096;

    /// <summary>
    /// The largest database a restore writes to its staging folder, in MB: a gzip upload that unpacks to more is
    /// refused as soon as it passes this, so a gzip bomb costs at most this much disk.
    /// </summary>
    [Range(1, 1_000_000)]
    public long MaxDatabaseMB { get; set; } = 16384;

    /// <summary>How long a write of this server waits while a restore holds the writer before it is answered 503.</summary>
    [Range(0, 3600)]
    public int WriteWaitSeconds { get; set; } = 10;

    /// <summary>Where the <c>pre-restore</c> safety copies go; empty means the <c>backups</c> folder beside the database.</summary>
    public string? SafetyCopyDirectory { get; set; }
}
