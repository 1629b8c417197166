using System.Text.Json;
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

/// <summary>What one target holds, newest first; <see cref="Error"/> when it could not be read.</summary>
public sealed record OffsiteListing(string Target, string Description, IReadOnlyList<OffsiteBackup> Backups, string? Error);

/// <summary>
/// What the targets hold, read from the manifests stored there (the bucket is the catalogue: a new machine knows only
/// the bucket), and the remote retention that runs on that catalogue after each copy.
/// </summary>
public sealed class OffsiteCatalogue
{
    /// <summary>A manifest is a few KB; anything far larger under a manifest's name is not one of ours.</summary>
    public const int MaxManifestBytes = 1 << 20;

    internal static readonly JsonSerializerOptions ManifestJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly OffsiteTargets _targets;
    private readonly BackupStore _store;
    private readonly RetentionPolicy _retention;
    private readonly Lazy<TimeZoneInfo> _timeZone;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<OffsiteCatalogue> _logger;

    public OffsiteCatalogue(
        OffsiteTargets targets,
        BackupStore store,
        IOptions<OffsiteRetentionOptions> retention,
        IOptions<BackupRetentionOptions> localRetention,
        IOptions<BackupScheduleOptions> schedule,
        TimeProvider timeProvider,
        ILogger<OffsiteCatalogue> logger)
    {
        _targets = targets;
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
            try
            {
                var backups = await ReadAsync(target, cancellationToken);
                listings.Add(new OffsiteListing(target.Name, target.Description, backups, null));
            }
            catch (Exception exception) when (OffsiteFailures.IsTargetFailure(exception, cancellationToken))
            {
                // This target's error, in its own entry: the other targets still list what they hold.
                _logger.LogWarning("Listing offsite target {Target} failed: {Reason}", target.Name, exception.Message);
                listings.Add(new OffsiteListing(target.Name, target.Description, [], exception.Message));
            }
        }

        return listings;
    }

    /// <summary>
    /// The backups one target holds, from its manifests, newest first in the store's order (<see cref="StoreOrder"/>); a
    /// manifest without a sequence by when the target confirmed its copy. Throws <see cref="OffsiteTargetException"/>.
    /// </summary>
    public async Task<IReadOnlyList<OffsiteBackup>> ReadAsync(IOffsiteTarget target, CancellationToken cancellationToken)
    {
        var backups = new List<OffsiteBackup>();
        foreach (var key in await target.ListKeysAsync(cancellationToken))
        {
            if (OffsiteTargets.TryParseKey(target, key, out var id, out var isManifest) && isManifest
                && await ReadManifestAsync(target, id, cancellationToken) is { } found)
            {
                backups.Add(found);
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

        var found = await ReadManifestAsync(target, id, cancellationToken);
        return found is not null && found.Key == key
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

        var backups = await ReadAsync(target, cancellationToken);
        var decision = _retention.Apply(
            backups.Select(backup => new RetentionCandidate(
                backup.Manifest.Id, new DateTimeOffset(backup.Manifest.CreatedAt, TimeSpan.Zero), backup.Manifest.Trigger, backup.Manifest.IsGood)),
            _timeProvider.GetUtcNow(), _timeZone.Value, justCopied);
        foreach (var id in decision.Remove)
        {
            var backup = backups.First(candidate => candidate.Manifest.Id == id);

            // The object first: a manifest without its object is listed and fails a restore loudly; an object without a
            // manifest would be invisible and stay for ever.
            await target.DeleteAsync(backup.Key, cancellationToken);
            await target.DeleteAsync(OffsiteTargets.ManifestKey(target, id), cancellationToken);
            _store.SetOffsiteCopy(id, target.Name, copy: null);
            _logger.LogInformation("Offsite retention removed backup {Id} ({Trigger}, {CreatedAt:O}) from {Target}",
                id, backup.Manifest.Trigger, backup.Manifest.CreatedAt, target.Name);
        }

        return decision.Remove;
    }

    private async Task<OffsiteBackup?> ReadManifestAsync(IOffsiteTarget target, string id, CancellationToken cancellationToken)
    {
        var manifestKey = OffsiteTargets.ManifestKey(target, id);
        var bytes = await target.ReadSmallAsync(manifestKey, MaxManifestBytes, cancellationToken);
        if (bytes is null)
        {
            return null;
        }

        BackupManifest? manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<BackupManifest>(bytes, ManifestJson);
        }
        catch (JsonException exception)
        {
            _logger.LogWarning("The manifest {Key} on {Target} cannot be read: {Reason}", manifestKey, target.Name, exception.Message);
            return null;
        }

        if (manifest is null || manifest.Id != id)
        {
            return null;
        }

        var copy = manifest.Offsite?.FirstOrDefault(entry => entry.Target == target.Name);
        var key = copy?.Key ?? target.Prefix + manifest.FileName;
        return new OffsiteBackup(target.Name, key, target.Name + ":" + key, manifest);
    }

    private static string Shorten(string key) => key.Length <= 200 ? key : key[..200] + "…";
}
