using System.Text.Json;
using CoreScope.Data.Offsite.Encryption;
using CoreScope.Data.Store;

namespace CoreScope.Data.Offsite;

/// <summary>What leaves the box for one stored backup: a local file, the name it takes on the target, and what the manifest's entry adds.</summary>
/// <param name="FilePath">The file to send: the stored file itself, or a transformed copy in the work folder.</param>
/// <param name="ObjectName">Its name under the target's prefix, such as <c>corescope-backup-{id}.db.gz</c>.</param>
/// <param name="Extensions">Members the manifest's <c>offsite</c> entry gets besides the five of every copy (the encryption's own).</param>
/// <param name="Sha256">The SHA-256 of <paramref name="FilePath"/> when the transform wrote it (lowercase hex): what the upload must have sent.</param>
public sealed record OffsitePayload(
    string FilePath, string ObjectName, IReadOnlyDictionary<string, JsonElement>? Extensions = null, string? Sha256 = null);

/// <summary>
/// The seam where a stored file can be transformed before it leaves the box and after it comes back (the OpenPGP
/// encryption of issue 15 plugs in here). The uploader hashes what it sends, and the restore checks what it downloads
/// against that hash before it calls <see cref="OpenAsync"/>, so an implementation only transforms.
/// </summary>
public interface IOffsitePayloads
{
    /// <summary>The file to send for a stored backup; <paramref name="workFolder"/> is an empty folder of its own, deleted after the upload.</summary>
    Task<OffsitePayload> PrepareAsync(BackupManifest manifest, string storedFile, string workFolder, CancellationToken cancellationToken);

    /// <summary>
    /// The stored file again, from what was downloaded for <paramref name="copy"/> (its SHA-256 already checked):
    /// <paramref name="downloadedFile"/> itself, or a file written into <paramref name="workFolder"/>.
    /// <paramref name="key"/> is what the operator supplied for this restore alone, to decrypt with (null when none was).
    /// </summary>
    Task<string> OpenAsync(OffsiteCopy copy, string downloadedFile, string workFolder, OffsiteDecryptionKey? key, CancellationToken cancellationToken);
}
