using System.Diagnostics.Metrics;
using System.Globalization;
using CoreScope.Data.Notify;
using CoreScope.Data.Options;
using CoreScope.Data.Store;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Diagnostics;

/// <summary>
/// What <c>/api/health</c> says of backups. <c>Stale</c>: the newest good backup (or, while the server has known none,
/// its start) is older than <c>MaxAgeHours</c>; it makes the server's status "degraded". <c>FutureDatedCount</c>: stored
/// backups whose <c>createdAt</c> is ahead of the server's clock, which never count as the newest.
/// </summary>
public sealed record BackupStatus(
    DateTimeOffset? LastSuccessAt,
    double? LastSuccessAgeSeconds,
    long? LastSuccessSizeBytes,
    string? LastSuccessTrigger,
    string? LastSuccessBackupId,
    DateTimeOffset? LastFailureAt,
    string? LastFailureReason,
    DateTimeOffset? NextScheduledAt,
    DateTimeOffset? LastDrillAt,
    string? LastDrillOutcome,
    string? LastDrillBackupId,
    int? StoredCount,
    long? StoredBytes,
    int? FutureDatedCount,
    double? MaxAgeHours,
    bool Stale);

/// <summary>One stored backup as the store tells health of it; the store hands them over newest first, in its order.</summary>
public sealed record StoredBackupSummary(string Id, DateTimeOffset CreatedAt, long SizeBytes, string Trigger, bool IsGood);

/// <summary>What health says of one offsite target: its last copy that worked and its last that failed, since the server started.</summary>
public sealed record OffsiteTargetStatus(
    string Target, DateTimeOffset? LastSuccessAt, string? LastSuccessBackupId, DateTimeOffset? LastFailureAt, string? LastFailureReason, bool Failing);

/// <summary>
/// The record of what happened to backups, restores, drills and offsite copies, kept by whoever did them with one
/// call each: health reads it (<see cref="Status"/>), the <c>CoreScope</c> meter publishes it for <c>/metrics</c>, and
/// a failure or the first success after one is handed to the webhook (<see cref="BackupAlerts"/>), which never
/// makes the caller wait. It lives beside the data services, not in the web layer, because the scheduler, the store
/// and the restore of issues 12 and 13 record here without any HTTP request around them.
/// </summary>
/// <remarks>
/// The newest good backup is the newer of the last download delivered since the start and the newest good stored
/// backup the store holds now (<see cref="SetStoredBackups"/>, after every change of the store): a stored backup that
/// was deleted, by retention or by hand, no longer counts, and one dated in the future never does. Until the server
/// knows a good backup its start counts as the last one for staleness, so a restart neither hides stale backups for
/// longer than MaxAgeHours nor raises an alarm the moment it starts; once it has known one, a store emptied since is
/// stale at once.
/// </remarks>
public sealed class BackupActivity
{
    private const string TriggerTag = "trigger";
    private const string OutcomeTag = "outcome";
    private const int LongestTargetLabel = 64;

    private readonly TimeProvider _timeProvider;
    private readonly BackupAlerts _alerts;
    private readonly double? _maxAgeHours;
    private readonly DateTimeOffset _startedAt;
    private readonly Lock _lock = new();

    private readonly Counter<long> _backups;
    private readonly Histogram<double> _backupDuration;
    private readonly Counter<long> _backupBytes;
    private readonly Counter<long> _restores;
    private readonly Histogram<double> _restoreDuration;
    private readonly Counter<long> _drills;
    private readonly Counter<long> _offsiteCopies;

    private DateTimeOffset? _lastDownloadAt;
    private long? _lastDownloadSizeBytes;
    private bool _knewAGoodBackup;
    private DateTimeOffset? _lastFailureAt;
    private string? _lastFailureReason;
    private DateTimeOffset? _nextScheduledAt;
    private DateTimeOffset? _lastDrillAt;
    private string? _lastDrillOutcome;
    private string? _lastDrillBackupId;
    private DateTimeOffset? _lastDrillPassedAt;
    private readonly Dictionary<string, OffsiteTargetStatus> _offsite = new(StringComparer.Ordinal);
    private IReadOnlyList<StoredBackupSummary>? _stored;

    public BackupActivity(CoreScopeMeter meter, BackupAlerts alerts, IOptions<BackupMonitoringOptions> options, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _alerts = alerts;
        _maxAgeHours = options.Value.MaxAgeHours;
        _startedAt = timeProvider.GetUtcNow();

        var m = meter.Meter;
        _backups = m.CreateCounter<long>("corescope.backups", description: "Backups attempted, by trigger and outcome (success, failure; cancelled: a download its client left).");

        // Backups take from a fraction of a second to tens of minutes (1 GiB in about 4 s here); the default buckets
        // are for milliseconds, so the instrument says which it wants (OpenTelemetry honours the advice).
        var secondsAdvice = new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] };
        _backupDuration = m.CreateHistogram("corescope.backup.duration", unit: "s", description: "How long successful backups took to make.", tags: null, advice: secondsAdvice);
        _restoreDuration = m.CreateHistogram("corescope.restore.duration", unit: "s", description: "How long restores took, by outcome.", tags: null, advice: secondsAdvice);
        _backupBytes = m.CreateCounter<long>("corescope.backup.bytes", unit: "By", description: "Bytes of successful backups, by trigger.");
        _restores = m.CreateCounter<long>("corescope.restores", description: "Restores, by outcome (success, failure).");
        _drills = m.CreateCounter<long>("corescope.drills", description: "Restore drills of stored backups, by outcome (passed, failed).");
        _offsiteCopies = m.CreateCounter<long>("corescope.offsite.copies", description: "Copies of stored backups to offsite targets, by target and outcome.");

        // Every series an alert rule watches exists at 0 from the start: Prometheus's increase() cannot see the first
        // failure of a series that appears already at 1, so a first failed drill would otherwise never alert.
        foreach (var trigger in Enum.GetValues<BackupTrigger>())
        {
            foreach (var outcome in (string[])["success", "failure"])
            {
                _backups.Add(0, new KeyValuePair<string, object?>(TriggerTag, MonitoringLabels.Of(trigger)), new KeyValuePair<string, object?>(OutcomeTag, outcome));
            }
        }

        foreach (var outcome in Enum.GetValues<CheckOutcome>())
        {
            _drills.Add(0, new KeyValuePair<string, object?>(OutcomeTag, MonitoringLabels.Of(outcome)));
        }

        _restores.Add(0, new KeyValuePair<string, object?>(OutcomeTag, "success"));
        _restores.Add(0, new KeyValuePair<string, object?>(OutcomeTag, "failure"));

        // Gauges are read when /metrics is scraped; an unknown value publishes no point rather than a made-up 0.
        m.CreateObservableGauge("corescope.backup.last_success_timestamp", () => Point(Status().LastSuccessAt), unit: "s",
            description: "Unix time of the newest good backup this server knows of.");
        m.CreateObservableGauge("corescope.backup.last_success_size", () => Point(Status().LastSuccessSizeBytes), unit: "By",
            description: "Size of the newest good backup.");
        m.CreateObservableGauge("corescope.backup.last_failure_timestamp", () => Point(Read(() => _lastFailureAt)), unit: "s",
            description: "Unix time of the last failed backup.");
        m.CreateObservableGauge("corescope.backup.next_scheduled_timestamp", () => Point(Read(() => _nextScheduledAt)), unit: "s",
            description: "Unix time of the next scheduled backup.");
        m.CreateObservableGauge("corescope.drill.last_passed_timestamp", () => Point(Read(() => _lastDrillPassedAt)), unit: "s",
            description: "Unix time of the last restore drill that passed.");
        m.CreateObservableGauge("corescope.backups.stored", () => Point((long?)Status().StoredCount),
            description: "Stored backups in the store.");
        m.CreateObservableGauge("corescope.backups.stored.size", () => Point(Status().StoredBytes), unit: "By",
            description: "Bytes of all stored backups.");
        m.CreateObservableGauge("corescope.backups.stored.future_dated", () => Point((long?)Status().FutureDatedCount),
            description: "Stored backups dated later than the server's clock (a clock that jumped, a store restored from another machine).");
    }

    /// <summary>
    /// A backup was made and delivered: sent to its client, or stored with its manifest. A download counts as the newest
    /// good backup from now on; a stored one counts through the store's report (<see cref="SetStoredBackups"/>), for as
    /// long as it is stored.
    /// </summary>
    public void RecordBackupSucceeded(BackupTrigger trigger, long sizeBytes, TimeSpan duration, string? backupId = null)
    {
        var label = MonitoringLabels.Of(trigger);
        if (trigger == BackupTrigger.Download)
        {
            lock (_lock)
            {
                _lastDownloadAt = _timeProvider.GetUtcNow();
                _lastDownloadSizeBytes = sizeBytes;
                _knewAGoodBackup = true;
            }
        }

        var triggerTag = new KeyValuePair<string, object?>(TriggerTag, label);
        _backups.Add(1, triggerTag, new KeyValuePair<string, object?>(OutcomeTag, "success"));
        _backupDuration.Record(duration.TotalSeconds, triggerTag);
        _backupBytes.Add(sizeBytes, triggerTag);
        _alerts.Succeeded(AlertSubject.Backup, label, backupId,
            string.Create(CultureInfo.InvariantCulture, $"{label} backup of {FormatBytes(sizeBytes)} made in {duration.TotalSeconds:0.#} s"));
    }

    /// <summary>
    /// A download its client gave up on (closed the connection, pressed cancel): counted with outcome <c>cancelled</c>,
    /// but neither a failure of the server's backups nor a reason to alert; the client knows it did not finish.
    /// </summary>
    public void RecordBackupCancelled(BackupTrigger trigger) =>
        _backups.Add(1, new KeyValuePair<string, object?>(TriggerTag, MonitoringLabels.Of(trigger)), new KeyValuePair<string, object?>(OutcomeTag, "cancelled"));

    /// <summary>A backup was attempted and did not end with a delivered copy; <paramref name="reason"/> says why, for the operator.</summary>
    public void RecordBackupFailed(BackupTrigger trigger, string reason, string? backupId = null)
    {
        var label = MonitoringLabels.Of(trigger);
        lock (_lock)
        {
            _lastFailureAt = _timeProvider.GetUtcNow();
            _lastFailureReason = reason;
        }

        _backups.Add(1, new KeyValuePair<string, object?>(TriggerTag, label), new KeyValuePair<string, object?>(OutcomeTag, "failure"));
        _alerts.Failed(AlertSubject.Backup, label, backupId, reason);
    }

    /// <summary>A restore drill of a stored backup ended; <paramref name="problem"/> is its first problem when it failed.</summary>
    public void RecordDrill(string backupId, CheckOutcome outcome, TimeSpan duration, string? problem = null)
    {
        var label = MonitoringLabels.Of(outcome);
        var at = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            _lastDrillAt = at;
            _lastDrillOutcome = label;
            _lastDrillBackupId = backupId;
            if (outcome == CheckOutcome.Passed)
            {
                _lastDrillPassedAt = at;
            }
        }

        _drills.Add(1, new KeyValuePair<string, object?>(OutcomeTag, label));
        if (outcome == CheckOutcome.Passed)
        {
            _alerts.Succeeded(AlertSubject.Drill, "drill", backupId,
                string.Create(CultureInfo.InvariantCulture, $"restore drill of backup {backupId} passed in {duration.TotalSeconds:0.#} s"));
        }
        else
        {
            _alerts.Failed(AlertSubject.Drill, "drill", backupId, problem ?? "the drill failed");
        }
    }

    /// <summary>A restore into the live database ended. Restores are counted, not alerted: an operator started it and reads its answer.</summary>
    public void RecordRestore(bool succeeded, TimeSpan duration)
    {
        var outcome = new KeyValuePair<string, object?>(OutcomeTag, succeeded ? "success" : "failure");
        _restores.Add(1, outcome);
        _restoreDuration.Record(duration.TotalSeconds, outcome);
    }

    /// <summary>A stored backup reached an offsite target (issue's <c>Offsite/</c>); ends an alert for that target.</summary>
    public void RecordOffsiteSucceeded(string target, string backupId)
    {
        var label = TargetLabel(target);
        lock (_lock)
        {
            var known = _offsite.GetValueOrDefault(label) ?? new OffsiteTargetStatus(label, null, null, null, null, false);
            _offsite[label] = known with { LastSuccessAt = _timeProvider.GetUtcNow(), LastSuccessBackupId = backupId, Failing = false };
        }

        _offsiteCopies.Add(1, new KeyValuePair<string, object?>("target", label), new KeyValuePair<string, object?>(OutcomeTag, "success"));
        _alerts.Succeeded(AlertSubject.Offsite, label, backupId, $"backup {backupId} copied to {label}");
    }

    /// <summary>A stored backup could not be copied to an offsite target after its retries.</summary>
    public void RecordOffsiteFailed(string target, string backupId, string reason)
    {
        var label = TargetLabel(target);
        lock (_lock)
        {
            var known = _offsite.GetValueOrDefault(label) ?? new OffsiteTargetStatus(label, null, null, null, null, false);
            _offsite[label] = known with { LastFailureAt = _timeProvider.GetUtcNow(), LastFailureReason = reason, Failing = true };
        }

        _offsiteCopies.Add(1, new KeyValuePair<string, object?>("target", label), new KeyValuePair<string, object?>(OutcomeTag, "failure"));
        _alerts.Failed(AlertSubject.Offsite, label, backupId, reason);
    }

    /// <summary>Each offsite target that copied or failed to copy since the server started, by name.</summary>
    public IReadOnlyList<OffsiteTargetStatus> OffsiteStatus()
    {
        lock (_lock)
        {
            return _offsite.Values.OrderBy(status => status.Target, StringComparer.Ordinal).ToList();
        }
    }

    /// <summary>
    /// What the store holds now, damaged backups included, newest first in the store's order; the store calls it at start
    /// and after every change (store, delete, retention). Its newest good backup not dated in the future is the newest
    /// good backup health reports, found on disk or stored since the start, and neither counted nor alerted here.
    /// </summary>
    public void SetStoredBackups(IReadOnlyList<StoredBackupSummary> newestFirst)
    {
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            _stored = newestFirst;
            _knewAGoodBackup |= NewestStored(newestFirst, now) is not null;
        }
    }

    /// <summary>When the schedule runs next (null: no schedule); the scheduler calls it whenever it plans a run.</summary>
    public void SetNextScheduledAt(DateTimeOffset? at)
    {
        lock (_lock)
        {
            _nextScheduledAt = at;
        }
    }

    /// <summary>The state now, and whether backups are stale by <see cref="BackupMonitoringOptions.MaxAgeHours"/>.</summary>
    public BackupStatus Status()
    {
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            var stored = _stored is null ? null : NewestStored(_stored, now);
            var lastSuccessAt = _lastDownloadAt;
            var lastSuccessSizeBytes = _lastDownloadSizeBytes;
            var lastSuccessTrigger = _lastDownloadAt is null ? null : MonitoringLabels.Of(BackupTrigger.Download);
            string? lastSuccessBackupId = null;
            if (stored is not null && (lastSuccessAt is null || stored.CreatedAt >= lastSuccessAt))
            {
                (lastSuccessAt, lastSuccessSizeBytes, lastSuccessTrigger, lastSuccessBackupId) = (stored.CreatedAt, stored.SizeBytes, stored.Trigger, stored.Id);
            }

            var age = now - lastSuccessAt;
            var stale = _maxAgeHours is { } maxAge
                && (lastSuccessAt is { } at ? now - at > TimeSpan.FromHours(maxAge) : _knewAGoodBackup || now - _startedAt > TimeSpan.FromHours(maxAge));
            return new BackupStatus(
                lastSuccessAt,
                age is { } known ? Math.Round(Math.Max(known.TotalSeconds, 0), 1) : null,
                lastSuccessSizeBytes,
                lastSuccessTrigger,
                lastSuccessBackupId,
                _lastFailureAt,
                _lastFailureReason,
                _nextScheduledAt,
                _lastDrillAt,
                _lastDrillOutcome,
                _lastDrillBackupId,
                _stored?.Count,
                _stored?.Sum(backup => backup.SizeBytes),
                _stored?.Count(backup => StoreOrder.IsFutureDated(backup.CreatedAt.UtcDateTime, now)),
                _maxAgeHours,
                stale);
        }
    }

    // The first good stored backup in the store's order that is not dated in the future: one that is cannot say how old it is.
    private static StoredBackupSummary? NewestStored(IReadOnlyList<StoredBackupSummary> newestFirst, DateTimeOffset now) =>
        newestFirst.FirstOrDefault(backup => backup.IsGood && !StoreOrder.IsFutureDated(backup.CreatedAt.UtcDateTime, now));

    private T Read<T>(Func<T> read)
    {
        lock (_lock)
        {
            return read();
        }
    }

    private static IEnumerable<Measurement<double>> Point(DateTimeOffset? at) =>
        at is { } value ? [new Measurement<double>(value.ToUnixTimeMilliseconds() / 1000.0)] : [];

    private static IEnumerable<Measurement<long>> Point(long? value) =>
        value is { } known ? [new Measurement<long>(known)] : [];

    // The target's configured name, never its URL or credentials; bounded so a label stays a label.
    private static string TargetLabel(string target)
    {
        var trimmed = string.IsNullOrWhiteSpace(target) ? "unnamed" : target.Trim();
        return trimmed.Length <= LongestTargetLabel ? trimmed : trimmed[..LongestTargetLabel];
    }

    private static string FormatBytes(long bytes) =>
        bytes >= 1 << 30 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1 << 30):0.##} GiB")
        : bytes >= 1 << 20 ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (double)(1 << 20):0.#} MiB")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.#} KiB");
}
