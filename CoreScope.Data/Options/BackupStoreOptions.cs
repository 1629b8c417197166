using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>The check a stored backup gets before it is kept.</summary>
public enum StoreIntegrityCheck
{
    /// <summary>No check; the manifest's <c>integrity</c> is null.</summary>
    None,

    /// <summary><c>PRAGMA quick_check</c>: every page and b-tree, without matching indexes to their tables.</summary>
    Quick,

    /// <summary><c>PRAGMA integrity_check</c>: everything quick_check does, and every index against its table.</summary>
    Full,
}

/// <summary>Where stored backups are kept and how they are made (section <c>CoreScope:Backup:Store</c>). Meanings: docs/backup.md.</summary>
public sealed class BackupStoreOptions
{
    public const string SectionName = "CoreScope:Backup:Store";

    /// <summary>The store folder; empty means <c>backups</c> beside the database. A relative path is taken from the content root.</summary>
    public string? Directory { get; set; }

    /// <summary>
    /// Which check runs on every stored backup before it is kept, its verdict written into the manifest. On the 1 GiB
    /// bench database <c>quick_check</c> took 2.3 s and <c>integrity_check</c> 34 s (it also matches every index
    /// against its table), so the quick one is the default for a nightly job.
    /// </summary>
    [EnumDataType(typeof(StoreIntegrityCheck), ErrorMessage = "CoreScope:Backup:Store:IntegrityCheck must be Quick, Full or None.")]
    public StoreIntegrityCheck IntegrityCheck { get; set; } = StoreIntegrityCheck.Quick;

    /// <summary>Whether scheduled backups are gzip-compressed.</summary>
    public bool CompressScheduled { get; set; }
}

/// <summary>
/// Which stored backups retention keeps, in restic's and borg's terms (section <c>CoreScope:Backup:Retention</c>).
/// All zero (the default) keeps every backup.
/// </summary>
public sealed class BackupRetentionOptions
{
    public const string SectionName = "CoreScope:Backup:Retention";

    private const string Message = " must be a whole number from 0 to 100000.";

    /// <summary>The newest N backups.</summary>
    [Range(0, 100_000, ErrorMessage = "CoreScope:Backup:Retention:KeepLast" + Message)]
    public int KeepLast { get; set; }

    /// <summary>The newest backup of each of the last N days that have one.</summary>
    [Range(0, 100_000, ErrorMessage = "CoreScope:Backup:Retention:KeepDaily" + Message)]
    public int KeepDaily { get; set; }

    /// <summary>The newest backup of each of the last N ISO weeks that have one.</summary>
    [Range(0, 100_000, ErrorMessage = "CoreScope:Backup:Retention:KeepWeekly" + Message)]
    public int KeepWeekly { get; set; }

    /// <summary>The newest backup of each of the last N months that have one.</summary>
    [Range(0, 100_000, ErrorMessage = "CoreScope:Backup:Retention:KeepMonthly" + Message)]
    public int KeepMonthly { get; set; }
}
