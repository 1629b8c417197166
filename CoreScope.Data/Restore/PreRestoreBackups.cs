using System.Text.Json.Serialization;

namespace CoreScope.Data.Restore;

/// <summary>
/// A stored backup's manifest, with the fields of the stored-backups issue (#12), so the files written here are read
/// by its catalogue as they are.
/// </summary>
public sealed record BackupManifest(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("trigger")] string Trigger,
    [property: JsonPropertyName("method")] string Method,
    [property: JsonPropertyName("compressed")] bool Compressed,
    [property: JsonPropertyName("sizeBytes")] long SizeBytes,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("durationMs")] long DurationMs,
    [property: JsonPropertyName("serverVersion")] string ServerVersion,
    [property: JsonPropertyName("schemaSteps")] IReadOnlyList<string> SchemaSteps,
    [property: JsonPropertyName("rows")] IReadOnlyDictionary<string, long> Rows,
    [property: JsonPropertyName("integrity")] string? Integrity);

/// <summary>A stored backup's file and what its manifest says of it.</summary>
public sealed record StoredBackup(string FilePath, BackupManifest Manifest);

/// <summary>
/// Where a restore keeps its safety copy and finds the stored backups it may restore from. This is the one seam
/// between the restore and the stored backups: when the store of issue #12 lands, it implements this and replaces
/// <see cref="SafetyCopyFolder"/> in <c>AddCoreScopeData</c>, and nothing else changes.
/// </summary>
public interface IPreRestoreBackups
{
    /// <summary>Where a new safety copy is written: the disk guard counts its size against this folder's disk.</summary>
    string Folder { get; }

    /// <summary>
    /// Stores a copy of the live database with trigger <c>pre-restore</c>; the caller holds the snapshot gate and the
    /// writer. Throws <see cref="RestoreFailedException"/> when it cannot.
    /// </summary>
    Task<BackupManifest> CreatePreRestoreAsync(CancellationToken cancellationToken);

    /// <summary>The stored backup with this id, or null when there is none (ids never name a path).</summary>
    Task<StoredBackup?> FindAsync(string id, CancellationToken cancellationToken);

    /// <summary>Removes the <c>.partial</c> files a crash left; runs at start.</summary>
    int SweepIncomplete();
}
