using System.Diagnostics;
using System.Text.Json;
using CoreScope.Data.Backup;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Offsite.Encryption;
using CoreScope.Data.Offsite.Signing;
using CoreScope.Data.Options;
using CoreScope.Data.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite;

/// <summary>An on-demand copy failed on at least one target; the message names each with its reason.</summary>
public sealed class OffsiteCopyFailedException(string message) : Exception(message);

/// <summary>
/// Copies stored backups to the targets: the file (through <see cref="IOffsitePayloads"/>), then its manifest with
/// the copy's entry, then that entry into the local manifest, then the target's retention. One copy per target at a
/// time. Each copy that ends is told to <see cref="BackupActivity"/> (health, <c>/metrics</c>, the webhook). Nothing
/// here deletes, changes or waits on the local backup: the store only reads it.
/// </summary>
public sealed class OffsiteUploader : IDisposable
{
    private readonly OffsiteTargets _targets;
    private readonly OffsiteCatalogue _catalogue;
    private readonly BackupStore _store;
    private readonly IOffsitePayloads _payloads;
    private readonly OffsiteSigning _signing;
    private readonly BackupActivity _activity;
    private readonly OffsiteOptions _options;
    private readonly string _tempDirectory;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<OffsiteUploader> _logger;
    private readonly Dictionary<string, SemaphoreSlim> _oneAtATime;

    public OffsiteUploader(
        OffsiteTargets targets,
        OffsiteCatalogue catalogue,
        BackupStore store,
        IOffsitePayloads payloads,
        OffsiteSigning signing,
        BackupActivity activity,
        IOptions<OffsiteOptions> options,
        IOptions<BackupOptions> backupOptions,
        TimeProvider timeProvider,
        ILogger<OffsiteUploader> logger)
    {
        _targets = targets;
        _catalogue = catalogue;
        _store = store;
        _payloads = payloads;
        _signing = signing;
        _activity = activity;
        _options = options.Value;
        _tempDirectory = backupOptions.Value.ResolvedTempDirectory;
        _timeProvider = timeProvider;
        _logger = logger;
        _oneAtATime = targets.All.ToDictionary(target => target.Name, _ => new SemaphoreSlim(1, 1));
    }

    public IReadOnlyList<IOffsiteTarget> Targets => _targets.All;

    /// <summary>
    /// <c>POST /api/backups/{id}/offsite</c>: one try per configured target, now, each reported; returns the backup's
    /// manifest with its copies. Throws <see cref="StoredBackupNotFoundException"/>, <see cref="StoredBackupDamagedException"/>
    /// or <see cref="OffsiteNotConfiguredException"/> before anything is sent, and <see cref="OffsiteCopyFailedException"/>
    /// after every target was tried when any of them failed.
    /// </summary>
    public async Task<BackupManifest> CopyNowAsync(string backupId, CancellationToken cancellationToken)
    {
        if (_targets.All.Count == 0)
        {
            throw new OffsiteNotConfiguredException("No offsite target is configured (CoreScope:Offsite:S3 or CoreScope:Offsite:AzureBlob).");
        }

        await _store.OpenForDownloadAsync(backupId, cancellationToken);
        var failures = new List<string>();
        foreach (var target in _targets.All)
        {
            try
            {
                await CopyAndReportAsync(target, backupId, attempt: 1, lastAttempt: true, cancellationToken);
            }
            catch (OffsiteTargetException exception)
            {
                // Named by its name in the answer; its endpoint, bucket and prefix are in the log line of the failure.
                failures.Add($"{target.Name}: {exception.Message.Replace(target.Description, "the target " + target.Name, StringComparison.Ordinal)}");
            }
        }

        return failures.Count == 0
            ? _store.Get(backupId)
            : throw new OffsiteCopyFailedException(
                $"The copy of backup {backupId} failed on {failures.Count} of {_targets.All.Count} targets; the local backup is kept. " + string.Join(" ", failures));
    }

    /// <summary>
    /// The copy after a stored backup: tries until it works, a failure that a retry cannot fix, or
    /// <see cref="OffsiteOptions.MaxAttempts"/>, waiting 10, 20, 40 … s (wall-clock time) between tries. Never throws
    /// but for cancellation; the outcome is reported and logged.
    /// </summary>
    public async Task CopyWithRetriesAsync(IOffsiteTarget target, string backupId, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var lastAttempt = attempt >= _options.MaxAttempts;
            try
            {
                await CopyAndReportAsync(target, backupId, attempt, lastAttempt, cancellationToken);
                return;
            }
            catch (OffsiteTargetException exception) when (exception.Retryable && !lastAttempt)
            {
                var delay = TimeSpan.FromSeconds(Math.Min(_options.FirstRetryDelaySeconds * Math.Pow(2, attempt - 1), 600));
                _logger.LogWarning("Offsite copy of backup {Id} to {Target} failed (try {Attempt} of {MaxAttempts}), trying again in {Delay} s: {Reason}",
                    backupId, target.Name, attempt, _options.MaxAttempts, delay.TotalSeconds, exception.Message);

                // Wall-clock time whatever clock the schedule runs on, as the webhook's retries: a test or a host that
                // moves its TimeProvider a day ahead must not skip an outage's wait.
                await Task.Delay(delay, cancellationToken);
            }
            catch (OffsiteTargetException)
            {
                return;
            }
            catch (Exception exception) when (exception is StoredBackupNotFoundException or StoredBackupDamagedException)
            {
                _logger.LogWarning("Offsite copy of backup {Id} to {Target} skipped: {Reason}", backupId, target.Name, exception.Message);
                return;
            }
        }
    }

    // One try: reported as a success, or as a failure when it is the last try or one that no retry can fix.
    private async Task<OffsiteCopy> CopyAndReportAsync(IOffsiteTarget target, string backupId, int attempt, bool lastAttempt, CancellationToken cancellationToken)
    {
        try
        {
            var copy = await CopyAsync(target, backupId, cancellationToken);
            _activity.RecordOffsiteSucceeded(target.Name, backupId);
            return copy;
        }
        catch (OffsiteTargetException exception) when (lastAttempt || !exception.Retryable)
        {
            _logger.LogError("Offsite copy of backup {Id} to {Target} failed{Tries}; the local backup is kept: {Reason}",
                backupId, target.Name, attempt > 1 ? $" after {attempt} tries" : exception.Retryable ? "" : " (not retried: only the settings can fix it)",
                exception.Message);
            _activity.RecordOffsiteFailed(target.Name, backupId, exception.Message);
            throw;
        }
    }

    private async Task<OffsiteCopy> CopyAsync(IOffsiteTarget target, string backupId, CancellationToken cancellationToken)
    {
        var gate = _oneAtATime[target.Name];
        await gate.WaitAsync(cancellationToken);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            if (_signing.CannotSign is { } cannotSign)
            {
                throw new OffsiteTargetException(target.Name, cannotSign, retryable: false);
            }

            var stored = await _store.OpenForDownloadAsync(backupId, cancellationToken);
            using var work = SnapshotFolders.Create(_tempDirectory);
            var payload = await PrepareAsync(target, stored, work.Path, cancellationToken);
            var key = target.Prefix + payload.ObjectName;
            var upload = await target.UploadFileAsync(payload.FilePath, key, cancellationToken);
            var expectedSha256 = payload.Sha256 ?? (payload.FilePath == stored.Path ? stored.Manifest.Sha256 : null);
            if (expectedSha256 is not null && !string.Equals(upload.Sha256, expectedSha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new OffsiteTargetException(target.Name,
                    $"The file of backup {backupId} changed while it was sent (SHA-256 {upload.Sha256}, expected {expectedSha256}).",
                    retryable: true);
            }

            var copy = new OffsiteCopy(target.Name, key, upload.SizeBytes, upload.Sha256, _timeProvider.GetUtcNow().UtcDateTime)
            {
                Extensions = payload.Extensions?.ToDictionary(pair => pair.Key, pair => pair.Value),
            };

            // The manifest on the target speaks for this target's copy only; it is what a new machine reads. Its
            // signature goes first: the manifest makes the backup visible, and is then already one that verifies.
            var remoteManifest = JsonSerializer.SerializeToUtf8Bytes(stored.Manifest with { Offsite = [copy] }, OffsiteCatalogue.ManifestJson);
            var manifestKey = OffsiteTargets.ManifestKey(target, backupId);
            await target.UploadSmallAsync(OffsiteSigning.SignatureKey(manifestKey), Sign(target, remoteManifest), cancellationToken);
            await target.UploadSmallAsync(manifestKey, remoteManifest, cancellationToken);
            _store.SetOffsiteCopy(backupId, target.Name, copy);
            _logger.LogInformation("Copied backup {Id} to {Target} as {Key} ({Bytes} bytes) in {DurationMs} ms",
                backupId, target.Name, key, upload.SizeBytes, stopwatch.ElapsedMilliseconds);

            // The copy is made whatever retention then meets: a failure there is the next copy's to retry.
            try
            {
                await _catalogue.ApplyRetentionAsync(target, backupId, cancellationToken);
            }
            catch (OffsiteTargetException exception)
            {
                _logger.LogWarning("Offsite retention on {Target} failed; it runs again after the next copy: {Reason}", target.Name, exception.Message);
            }

            return copy;
        }
        finally
        {
            gate.Release();
        }
    }

    // A public key that expired or was replaced by an unusable one since start fails the copy like a refused
    // credential: reported at once with what to fix, not retried, and the local backup untouched.
    private async Task<OffsitePayload> PrepareAsync(IOffsiteTarget target, StoredBackupFile stored, string workFolder, CancellationToken cancellationToken)
    {
        try
        {
            return await _payloads.PrepareAsync(stored.Manifest, stored.Path, workFolder, cancellationToken);
        }
        catch (OffsiteEncryptionKeyException exception)
        {
            throw new OffsiteTargetException(target.Name, exception.Message, retryable: false, exception);
        }
    }

    // A key file that cannot be made (a read-only data folder) fails the copy as a refused credential would.
    private byte[] Sign(IOffsiteTarget target, byte[] manifest)
    {
        try
        {
            return _signing.Sign(manifest);
        }
        catch (OffsiteSigningKeyException exception)
        {
            throw new OffsiteTargetException(target.Name, exception.Message, retryable: false, exception);
        }
    }

    public void Dispose()
    {
        foreach (var gate in _oneAtATime.Values)
        {
            gate.Dispose();
        }
    }
}
