using System.Collections.Concurrent;
using System.Threading.Channels;
using CoreScope.Data.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Notify;

/// <summary>
/// Turns what <c>BackupActivity</c> records into webhook alerts: one when something starts failing, none while it
/// goes on failing (a nightly job failing for a week is one alert, not seven), and one when it works again. Alerts
/// wait in a bounded queue that <see cref="WebhookSender"/> empties, so recording one never waits on the network;
/// a full queue drops the new alert with a log line rather than hold up a backup.
/// </summary>
/// <remarks>
/// "Failing" is kept per subject and source: a schedule that keeps failing is not declared recovered by a download
/// that worked. It is kept in memory, so after a restart the first failure is alerted again.
/// </remarks>
public sealed class BackupAlerts
{
    private const string ApiKeySetting = "CoreScope:ApiKey";
    private const string Redacted = "[redacted]";

    private readonly Channel<WebhookAlert> _queue;
    private readonly ConcurrentDictionary<(AlertSubject, string), bool> _failing = new();
    private readonly NotifyOptions _options;
    private readonly string? _apiKey;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<BackupAlerts> _logger;

    public BackupAlerts(IOptions<NotifyOptions> options, IConfiguration configuration, TimeProvider timeProvider, ILogger<BackupAlerts> logger)
    {
        _options = options.Value;
        _timeProvider = timeProvider;
        _logger = logger;

        // A reason is built from exception messages, which could one day quote a request; the key must never leave.
        _apiKey = configuration[ApiKeySetting] is { Length: > 0 } key ? key : null;
        _queue = Channel.CreateBounded<WebhookAlert>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>What <see cref="WebhookSender"/> reads.</summary>
    public ChannelReader<WebhookAlert> Pending => _queue.Reader;

    /// <summary>Whether alerts are sent at all (<see cref="NotifyOptions.WebhookUrl"/> is set).</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(_options.WebhookUrl);

    /// <summary>Something failed; alerts when it is the first failure since it last worked.</summary>
    public void Failed(AlertSubject subject, string source, string? backupId, string reason)
    {
        if (!_failing.TryAdd((subject, source), true))
        {
            _logger.LogInformation("{Subject} ({Source}) failed again; the alert was sent at the first failure", subject, source);
            return;
        }

        var (eventName, severity, what) = subject switch
        {
            AlertSubject.Backup => ("backup.failed", "critical", $"the {source} backup failed"),
            AlertSubject.Drill => ("drill.failed", "critical", $"the restore drill of backup {backupId} failed"),
            _ => ("offsite.failed", "warning", $"the offsite copy of backup {backupId} to {source} failed"),
        };
        Enqueue(eventName, severity, source, backupId, reason, $"{what}: {reason}");
    }

    /// <summary>Something worked; alerts when it had been failing.</summary>
    public void Succeeded(AlertSubject subject, string source, string? backupId, string detail)
    {
        if (!_failing.TryRemove((subject, source), out _))
        {
            return;
        }

        var (eventName, what) = subject switch
        {
            AlertSubject.Backup => ("backup.recovered", $"{source} backups work again"),
            AlertSubject.Drill => ("drill.recovered", "restore drills pass again"),
            _ => ("offsite.recovered", $"offsite copies to {source} work again"),
        };
        Enqueue(eventName, "info", source, backupId, detail, $"{what}: {detail}");
    }

    private void Enqueue(string eventName, string severity, string source, string? backupId, string reason, string sentence)
    {
        if (!Enabled)
        {
            return;
        }

        var server = _options.ResolvedServerName;
        var alert = new WebhookAlert(
            Redact($"CoreScope on {server}: {sentence}"),
            eventName,
            severity,
            IsoTime.Format(_timeProvider.GetUtcNow()),
            backupId,
            Redact(reason),
            server,
            source);
        if (!_queue.Writer.TryWrite(alert))
        {
            _logger.LogError(
                "The webhook queue is full ({Capacity} alerts waiting: the receiver is down or slow); dropped {Event}: {Text}",
                _options.QueueCapacity, eventName, alert.Text);
        }
    }

    private string Redact(string text) =>
        _apiKey is null ? text : text.Replace(_apiKey, Redacted, StringComparison.Ordinal);
}
