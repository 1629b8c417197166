using System.Text.Json;
using CoreScope.Data.Offsite.Signing;
using CoreScope.Data.Options;
using CoreScope.Data.Scheduling;
using CoreScope.Data.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite;

/// <summary>One backup a target holds, as its manifest there says.</summary>
/// <param name="Target"><c>s3</c> or <c>azureblob</c>.</param>
/// <param name="Key">The backup's object key, what <c>?offsite={target}:{key}</c> names.</param>
/// <param name="Restore">The whole <c>{target}:{key}</c> for <c>?offsite=</c> and <c>restore --from-offsite</c>.</param>
/// <param name="Manifest">The manifest stored beside it, whose <c>offsite</c> entry describes this copy.</param>
public sealed record OffsiteBackup(string Target, string Key, string Restore, BackupManifest Manifest);

/// <summary>A manifest on a target that is not trusted: never listed as restorable, restored from, or used by retention.</summary>
/// <param name="Manifest">The manifest's key.</param>
/// <param name="Reason">Why: no signature, a bad one, or a key it names outside the backup's own name under the prefix.</param>
public sealed record OffsiteRefusedManifest(string Manifest, string Reason);

/// <summary>
/// What one target holds, newest first; <see cref="Error"/> when it could not be read. <see cref="Refused"/>: the
/// manifests there that this server does not trust, each with why.
/// </summary>
public sealed record OffsiteListing(
    string Target, string Description, IReadOnlyList<OffsiteBackup> Backups, string? Error, IReadOnlyList<OffsiteRefusedManifest> Refused);

/// <summary>A manifest a request named is on the target but not trusted (<see cref="OffsiteRefusedManifest"/>).</summary>
public sealed class OffsiteManifestRefusedException(string message) : Exception(message);

/// <summary>
/// What the targets hold, read from the manifests stored there (the bucket is the catalogue: a new machine knows only
/// the bucket), and the remote retention that runs on that catalogue after each copy. A manifest counts only when its
/// signature holds (<see cref="OffsiteSigning"/>) and the key it names is its backup's own name under the prefix:
/// whoever can write the bucket can otherwise plant a backup that restores cleanly, or point retention at any object.
/// </summary>
public sealed class OffsiteCatalogue
{
    /// <summary>A manifest is a few KB; anything far larger under a manifest's name is not one of ours.</summary>
    public const int MaxManifestBytes = 1 << 20;

    internal static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly OffsiteTargets _targets;
    private readonly OffsiteSigning _signing;
    private readonly BackupStore _store;
    private readonly RetentionPolicy _retention;
    private readonly Lazy<TimeZoneInfo> _timeZone;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<OffsiteCatalogue> _logger;

    public OffsiteCatalogue(
        OffsiteTargets targets,
        OffsiteSigning signing,
        BackupStore store,
        IOptions<OffsiteRetentionOptions> retention,
        IOptions<BackupRetentionOptions> localRetention,
        IOptions<BackupScheduleOptions> schedule,
        TimeProvider timeProvider,
        ILogger<OffsiteCatalogue> logger)
    {
        _targets = targets;
        _signing = signing;
        _store = store;
        var keep = retention.Value;
        var local = localRetention.Value;
        _retention = new RetentionPolicy(
            keep.KeepLast ?? local.KeepLast, keep.KeepDaily ?? local.KeepDaily, keep.KeepWeekly ?? local.KeepWeekly, keep.KeepMonthly ?? local.KeepMonthly);
        _timeZone = new Lazy<TimeZoneInfo>(() => BackupSchedule.ParseTimeZone(schedule.Value.TimeZone));
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The retention each target applies: its own counts, or the local ones where unset.</summary>
    public RetentionPolicy Retention => _retention;

    /// <summary>Every configured target with the backups it holds; a target that cannot be read says why instead.</summary>
    public async Task<IReadOnlyList<OffsiteListing>> ListAsync(CancellationToken cancellationToken)
    {
        if (_targets.All.Count == 0)
        {
            throw new OffsiteNotConfiguredException("No offsite target is configured (CoreScope:Offsite:S3 or CoreScope:Offsite:AzureBlob).");
        }

        var listings = new List<OffsiteListing>();
        foreach (var target in _targets.All)
        {
            var refused = new List<OffsiteRefusedManifest>();
            try
            {
                var backups = await ReadAsync(target, refused, cancellationToken);
                listings.Add(new OffsiteListing(target.Name, target.Description, backups, null, refused));
            }
            catch (Exception exception) when (OffsiteFailures.IsTargetFailure(exception, cancellationToken))
            {
                // This target's error, in its own entry: the other targets still list what they hold.
                _logger.LogWarning("Listing offsite target {Target} failed: {Reason}", target.Name, exception.Message);
                listings.Add(new OffsiteListing(target.Name, target.Description, [], exception.Message, []));
            }
        }

        return listings;
    }

    /// <summary>
    /// The backups one target holds, from its trusted manifests, newest first in the store's order (<see cref="StoreOrder"/>); a
    /// manifest without a sequence by when the target confirmed its copy. Throws <see cref="OffsiteTargetException"/>.
    /// </summary>
    public Task<IReadOnlyList<OffsiteBackup>> ReadAsync(IOffsiteTarget target, CancellationToken cancellationToken) =>
        ReadAsync(target, refused: null, cancellationToken);

    /// <summary>As <see cref="ReadAsync(IOffsiteTarget, CancellationToken)"/>; each manifest not trusted goes into <paramref name="refused"/>.</summary>
    public async Task<IReadOnlyList<OffsiteBackup>> ReadAsync(
        IOffsiteTarget target, ICollection<OffsiteRefusedManifest>? refused, CancellationToken cancellationToken)
    {
        var backups = new List<OffsiteBackup>();
        foreach (var key in await target.ListKeysAsync(cancellationToken))
        {
            if (OffsiteTargets.TryParseKey(target, key, out var id, out var isManifest) && isManifest
                && await ReadManifestAsync(target, id, cancellationToken) is { } read)
            {
                if (read.Backup is { } found)
                {
                    backups.Add(found);
                }
                else
                {
                    refused?.Add(read.Refused!);
                }
            }
        }

        return StoreOrder.NewestFirst(backups, backup => backup.Manifest,
            backup => backup.Manifest.Offsite?.FirstOrDefault(copy => copy.Target == target.Name)?.ConfirmedAt);
    }

    /// <summary>The backup stored under <paramref name="key"/> on <paramref name="target"/>, found through the manifest beside it.</summary>
    public async Task<OffsiteBackup> FindAsync(IOffsiteTarget target, string key, CancellationToken cancellationToken)
    {
        if (!OffsiteTargets.TryParseKey(target, key, out var id, out var isManifest) || isManifest)
        {
            throw new OffsiteBackupNotFoundException(
                $"\"{Shorten(key)}\" is not the key of a backup on {target.Name} (prefix \"{target.Prefix}\"); GET /api/offsite/backups lists them with their keys.");
        }

        var read = await ReadManifestAsync(target, id, cancellationToken);
        if (read?.Refused is { } refused)
        {
            throw new OffsiteManifestRefusedException(
                $"The manifest {refused.Manifest} on {target.Name} is not trusted: {refused.Reason}. Nothing was read or changed.");
        }

        return read?.Backup is { } found && found.Key == key
            ? found
            : throw new OffsiteBackupNotFoundException(
                $"{target.Name} holds no backup under \"{Shorten(key)}\" with its manifest beside it; GET /api/offsite/backups lists the ones it holds.");
    }

    /// <summary>
    /// Applies the offsite retention to one target's backups, by their manifests there; removes each one's object and
    /// then its manifest, and the entry from the local manifest. <paramref name="justCopied"/>, the copy that ran this
    /// pass, is kept whatever the rules say. Returns the ids removed.
    /// </summary>
    public async Task<IReadOnlyList<string>> ApplyRetentionAsync(IOffsiteTarget target, string? justCopied, CancellationToken cancellationToken)
    {
        if (_retention.KeepsEverything)
        {
            return [];
        }

        // Only trusted manifests take part: retention deletes what they name, and a planted one must not choose.
        var refused = new List<OffsiteRefusedManifest>();
        var backups = await ReadAsync(target, refused, cancellationToken);
        if (refused.Count > 0)
        {
            _logger.LogWarning("Offsite retention on {Target} leaves alone {Count} manifests it does not trust (GET /api/offsite/backups lists them with why), such as {Manifest}: {Reason}",
                target.Name, refused.Count, refused[0].Manifest, refused[0].Reason);
        }

        var decision = _retention.Apply(
            backups.Select(backup => new RetentionCandidate(
                backup.Manifest.Id, new DateTimeOffset(backup.Manifest.CreatedAt, TimeSpan.Zero), backup.Manifest.Trigger, backup.Manifest.IsGood)),
            _timeProvider.GetUtcNow(), _timeZone.Value, justCopied);
        foreach (var id in decision.Remove)
        {
            var backup = backups.First(candidate => candidate.Manifest.Id == id);

            // The object first: a manifest without its object is listed and fails a restore loudly; an object without a
            // manifest would be invisible and stay for ever.
            // The signature last: a manifest left without it (a failure between the two) would be refused and kept for ever.
            var manifestKey = OffsiteTargets.ManifestKey(target, id);
            await target.DeleteAsync(backup.Key, cancellationToken);
            await target.DeleteAsync(manifestKey, cancellationToken);
            await target.DeleteAsync(OffsiteSigning.SignatureKey(manifestKey), cancellationToken);
            _store.SetOffsiteCopy(id, target.Name, copy: null);
            _logger.LogInformation("Offsite retention removed backup {Id} ({Trigger}, {CreatedAt:O}) from {Target}",
                id, backup.Manifest.Trigger, backup.Manifest.CreatedAt, target.Name);
        }

        return decision.Remove;
    }

    // One manifest, checked: null when there is none (or nothing under the name parses as one), else the backup it
    // describes or why it is refused. The signature is checked over the bytes as read, before they are parsed.
    private async Task<ManifestRead?> ReadManifestAsync(IOffsiteTarget target, string id, CancellationToken cancellationToken)
    {
        var manifestKey = OffsiteTargets.ManifestKey(target, id);
        var bytes = await target.ReadSmallAsync(manifestKey, MaxManifestBytes, cancellationToken);
        if (bytes is null)
        {
            return null;
        }

        var signatureKey = OffsiteSigning.SignatureKey(manifestKey);
        var signature = await target.ReadSmallAsync(signatureKey, OffsiteSigning.MaxSignatureBytes, cancellationToken);
        if (_signing.Refusal(bytes, signature, signatureKey) is { } unsigned)
        {
            return Refuse(unsigned);
        }

        BackupManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<BackupManifest>(bytes, ManifestJson);
        }
        catch (JsonException exception)
        {
            return Refuse($"it cannot be read ({exception.Message})");
        }

        if (manifest is null || manifest.Id != id)
        {
            return Refuse($"it describes backup \"{Shorten(manifest?.Id ?? "")}\", not {id}");
        }

        // Every key is confined to what this server writes for this backup: its own file name (or the encrypted form)
        // directly under the prefix. A signed manifest from another prefix, or one naming ../ or another backup, is no catalogue entry.
        var ownName = StoreFiles.TryParse(manifest.FileName, out var fileId, out var isManifest) && fileId == id && !isManifest;
        if (!ownName)
        {
            return Refuse($"its fileName \"{Shorten(manifest.FileName)}\" is not the name of backup {id}'s file");
        }

        var allowed = new[] { target.Prefix + manifest.FileName, target.Prefix + manifest.FileName + OffsitePayloads.EncryptedSuffix };
        foreach (var entry in manifest.Offsite ?? [])
        {
            if (entry.Target != target.Name || !allowed.Contains(entry.Key, StringComparer.Ordinal))
            {
                return Refuse($"its offsite entry names {Shorten(entry.Target)}:{Shorten(entry.Key)}, and only {target.Name}:{allowed[0]} (or {Path.GetFileName(allowed[1])}) is its copy here");
            }
        }

        var copy = manifest.Offsite?.FirstOrDefault(entry => entry.Target == target.Name);
        var key = copy?.Key ?? allowed[0];
        return new ManifestRead(new OffsiteBackup(target.Name, key, target.Name + ":" + key, manifest), null);

        // Not logged here: the listing carries the reason, a restore answers it, retention logs one line per run.
        ManifestRead Refuse(string reason) => new(null, new OffsiteRefusedManifest(manifestKey, reason));
    }

    private sealed record ManifestRead(OffsiteBackup? Backup, OffsiteRefusedManifest? Refused);

    private static string Shorten(string key) => key.Length <= 200 ? key : key[..200] + "…";
}
