using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>Where and how failure alerts are sent (section <c>CoreScope:Notify</c>); docs/operators.md has the JSON.</summary>
public sealed class NotifyOptions
{
    public const string SectionName = "CoreScope:Notify";

    /// <summary>
    /// The URL a JSON POST goes to when a backup, a drill or an offsite copy fails, and once when it works again
    /// (a Slack or Mattermost incoming webhook shows its <c>text</c>). Empty: no alerts are sent. It often holds a
    /// token of its own, so it is never logged; only its host is.
    /// </summary>
    [Url]
    public string? WebhookUrl { get; set; }

    /// <summary>The <c>server</c> of each alert, so several boxes can share one channel; empty means the machine's name.</summary>
    [MaxLength(200)]
    public string? ServerName { get; set; }

    /// <summary>Tries per alert, the first included; after the last one the alert is logged and dropped.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait before the first retry in seconds; each later wait doubles (with jitter).</summary>
    [Range(0.001, 3600)]
    public double FirstRetryDelaySeconds { get; set; } = 2;

    /// <summary>How long one try may take before it counts as failed.</summary>
    [Range(0.1, 600)]
    public double AttemptTimeoutSeconds { get; set; } = 10;

    /// <summary>Alerts waiting to be sent at most; beyond it a new alert is logged and dropped rather than waited for.</summary>
    [Range(1, 100_000)]
    public int QueueCapacity { get; set; } = 100;

    /// <summary>The server name actually used.</summary>
    public string ResolvedServerName => string.IsNullOrWhiteSpace(ServerName) ? Environment.MachineName : ServerName.Trim();
}
