using System.Text.Json;
using System.Text.Json.Serialization;
using CoreScope.Data.Drills;

namespace CoreScope.Data.Store;

/// <summary>
/// What the store knows of one stored backup: written as JSON beside its file, read back at start. Members that a
/// later version adds (a drill's verdict, offsite copies) are kept through <see cref="Extensions"/> when an older
/// version rewrites nothing, and new ones are added here as optional properties.
/// </summary>
public sealed record BackupManifest
{
    /// <summary>The backup's id: <c>yyyyMMddTHHmmssZ-xxxxxx</c> (UTC time, random hex), the only name a client uses.</summary>
    public required string Id { get; init; }

    /// <summary>When the snapshot was taken, UTC.</summary>
    public required DateTime CreatedAt { get; init; }

    /// <summary><c>manual</c>, <c>schedule</c> or <c>pre-restore</c> (<see cref="Diagnostics.MonitoringLabels.Of(Diagnostics.BackupTrigger)"/>).</summary>
    public required string Trigger { get; init; }

    /// <summary><c>vacuum</c> or <c>pages</c>.</summary>
    public required string Method { get; init; }

    public required bool Compressed { get; init; }

    /// <summary>The stored file's size in bytes.</summary>
    public required long SizeBytes { get; init; }

    /// <summary>The SHA-256 of the stored file, lower-case hex.</summary>
    public required string Sha256 { get; init; }

    /// <summary>How long storing it took, snapshot to rename.</summary>
    public required long DurationMs { get; init; }

    public required string ServerVersion { get; init; }

    /// <summary>The schema steps the backup's <c>_migrations</c> records, in order.</summary>
    public required IReadOnlyList<string> SchemaSteps { get; init; }

    /// <summary>Every table of the backup with its row count.</summary>
    public required IReadOnlyDictionary<string, long> Rows { get; init; }

    /// <summary><c>ok</c>, or the first problems <c>PRAGMA integrity_check</c> found; null when it was not checked.</summary>
    public string? Integrity { get; init; }

    /// <summary>Which check gave <see cref="Integrity"/>: <c>quick</c> (<c>quick_check</c>) or <c>full</c> (<c>integrity_check</c>).</summary>
    public string? IntegrityCheck { get; init; }

    /// <summary>The stored file's name in the store folder, and the name a download is saved under.</summary>
    public required string FileName { get; init; }

    /// <summary>
    /// What the store found on disk (<see cref="StoredBackupStatus"/>). Written as <c>ok</c>; only an <c>ok</c> backup is served
    /// or counted as good.
    /// </summary>
    public string Status { get; init; } = StoredBackupStatus.Ok;

    /// <summary>
    /// The store's count of the backups it wrote, one more than the highest it knew when it wrote this one: what orders
    /// backups newest first (<see cref="StoreOrder"/>), whatever the clock said. Null in manifests of earlier versions,
    /// and when the value is not one the store could have written.
    /// </summary>
    [JsonConverter(typeof(StoreSequenceConverter))]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Sequence { get; init; }

    /// <summary>The last restore drill's verdict (<see cref="BackupDrill"/>); null until the backup is drilled.</summary>
    public BackupDrill? Drill { get; init; }

    /// <summary>The copies of this backup that offsite targets confirmed (docs/offsite.md); absent until the first one.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<OffsiteCopy>? Offsite { get; init; }

    /// <summary>Members this version does not know, kept so that rewriting a manifest never drops them.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extensions { get; init; }

    /// <summary>A backup worth keeping: on disk as written, and not found damaged when it was checked.</summary>
    [JsonIgnore]
    public bool IsGood => Status == StoredBackupStatus.Ok && (Integrity is null || Integrity == "ok");
}

/// <summary>
/// One copy of a stored backup on an offsite target, written into the manifest once the target confirmed it.
/// </summary>
/// <param name="Target"><c>s3</c> or <c>azureblob</c>.</param>
/// <param name="Key">The full object key or blob name, prefix included.</param>
/// <param name="SizeBytes">The size of the object as sent.</param>
/// <param name="Sha256">The SHA-256 of the object as sent, lower-case hex; the manifest's own <c>sha256</c> is the stored file's, and
/// the two are equal unless the copy was transformed (encrypted) before it left.</param>
/// <param name="ConfirmedAt">When the target confirmed the whole object, UTC.</param>
public sealed record OffsiteCopy(string Target, string Key, long SizeBytes, string Sha256, DateTime ConfirmedAt)
{
    /// <summary>Members a later version adds (the encryption's), kept when this version rewrites the manifest.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extensions { get; init; }
}

/// <summary>What the store found of a backup on disk. Anything but <see cref="Ok"/> is listed and never served.</summary>
public static class StoredBackupStatus
{
    public const string Ok = "ok";

    /// <summary>The manifest is there, its file is not.</summary>
    public const string MissingFile = "missing-file";

    /// <summary>The file is there, its manifest is not.</summary>
    public const string MissingManifest = "missing-manifest";

    /// <summary>The manifest is not valid JSON or lacks members.</summary>
    public const string UnreadableManifest = "unreadable-manifest";

    /// <summary>The file's size or SHA-256 no longer matches its manifest: it was changed after it was written.</summary>
    public const string Modified = "modified";
}
