using CoreScope.Data.Backup;
using CoreScope.Data.Offsite.Encryption;
using CoreScope.Data.Options;
using CoreScope.Data.Restore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite;

/// <summary>
/// Restores from a copy on a target (<c>?offsite={target}:{key}</c>, <c>restore --from-offsite</c>): find its manifest
/// there, download the object into a staging folder of its own, check its SHA-256 against the manifest's entry, turn
/// it back into the stored file (<see cref="IOffsitePayloads.OpenAsync"/>), then hand that file to
/// <see cref="RestoreService"/> with the stored file's SHA-256, so it goes through every check of any restore. A
/// manifest whose signature does not hold, or that names a key outside its own, is refused before anything is downloaded.
/// </summary>
public sealed class OffsiteRestore(
    OffsiteTargets targets,
    OffsiteCatalogue catalogue,
    IOffsitePayloads payloads,
    RestoreService restoreService,
    IOptions<BackupOptions> backupOptions,
    ILogger<OffsiteRestore> logger)
{
    /// <summary>
    /// Restores <paramref name="source"/>, written <c>{target}:{key}</c>; <paramref name="decryptionKey"/> is handed to
    /// <see cref="IOffsitePayloads.OpenAsync"/> for an encrypted copy. Throws <see cref="OffsiteNotConfiguredException"/>,
    /// <see cref="OffsiteBackupNotFoundException"/>, <see cref="OffsiteTargetException"/>, or what the restore throws.
    /// </summary>
    public async Task<RestoreResult> RestoreAsync(
        string source, RestoreRequest request, OffsiteDecryptionKey? decryptionKey, CancellationToken cancellationToken)
    {
        var (target, key) = Parse(source);
        OffsiteBackup backup;
        try
        {
            backup = await catalogue.FindAsync(target, key, cancellationToken);
        }
        catch (OffsiteManifestRefusedException exception)
        {
            // A manifest that is not trusted describes a file that cannot be restored: 422, the command's exit 3.
            throw new RestoreFailedException(RestoreFailure.Unusable, exception.Message, exception);
        }

        var copy = backup.Manifest.Offsite?.FirstOrDefault(entry => entry.Target == target.Name && entry.Key == key);
        using var staging = SnapshotFolders.Create(backupOptions.Value.ResolvedTempDirectory, SnapshotFolders.RestorePrefix);
        var downloaded = Path.Combine(staging.Path, "download");
        logger.LogInformation("Downloading {Key} from {Target} for a restore", key, target.Name);
        var bytes = await target.DownloadToFileAsync(key, downloaded, cancellationToken);

        // What came down is what went up: the entry's SHA-256 is that of the object as sent. The download itself was
        // whole (the target's answer was read to its announced end), so a difference is the object, changed in the
        // bucket since the copy: no retry brings back the bytes that were copied.
        var expectedSent = copy?.Sha256 ?? backup.Manifest.Sha256;
        var expectedBytes = copy?.SizeBytes ?? backup.Manifest.SizeBytes;
        var actual = Convert.ToHexStringLower(await StagingFiles.HashAsync(downloaded, cancellationToken));
        if (bytes != expectedBytes || !string.Equals(actual, expectedSent, StringComparison.OrdinalIgnoreCase))
        {
            throw new RestoreFailedException(RestoreFailure.RemoteCopyChanged,
                $"The object {key} changed on the target {target.Name} since it was copied: {bytes} bytes with SHA-256 {actual}, its manifest there says " +
                $"{expectedBytes} bytes with SHA-256 {expectedSent}. Restore another copy; nothing was changed.");
        }

        var storedFile = copy is null ? downloaded : await payloads.OpenAsync(copy, downloaded, staging.Path, decryptionKey, cancellationToken);
        await using var content = StagingFiles.OpenSequentialRead(storedFile, StagingFiles.CopyBufferBytes);
        return await restoreService.RestoreAsync(
            content, source, request with { DeclaredLength = content.Length, ExpectedSha256 = Convert.FromHexString(backup.Manifest.Sha256) }, cancellationToken);
    }

    private (IOffsiteTarget Target, string Key) Parse(string source)
    {
        var colon = source.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == source.Length - 1)
        {
            throw new RestoreFailedException(RestoreFailure.BadRequest,
                "Name the offsite copy as {target}:{key}, such as s3:corescope/corescope-backup-20260301T030000Z-a1b2c3.db; GET /api/offsite/backups lists them.");
        }

        return (targets.Get(source[..colon]), source[(colon + 1)..]);
    }
}
