using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>Which of SQLite's checks a staged database must pass before it may go live.</summary>
public enum RestoreCheck
{
    /// <summary><c>PRAGMA integrity_check</c>: every page, and every index against its table.</summary>
    Full,

    /// <summary><c>PRAGMA quick_check</c>: every page and b-tree, without matching indexes to tables; about 8x faster.</summary>
    Quick,
}

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

    /// <summary>
    /// The check a staged database must pass. <c>Full</c> cost 9 s of CPU on the 1 GB bench database, most of a
    /// restore's time; <c>Quick</c> 1.2 s (docs/restore.md, "Measured").
    /// </summary>
    [EnumDataType(typeof(RestoreCheck))]
    public RestoreCheck IntegrityCheck { get; set; } = RestoreCheck.Full;
}
