namespace CoreScope.Data.Notify;

/// <summary>What an alert is about; each has its own failure and recovery events.</summary>
public enum AlertSubject
{
    Backup,
    Drill,
    Offsite,
}

/// <summary>
/// The JSON body of a webhook POST (camelCase). <c>text</c> is what Slack- and Mattermost-style incoming webhooks show;
/// the other members are for receivers that route or file alerts. Documented in docs/operators.md.
/// </summary>
/// <param name="Text">One line for people.</param>
/// <param name="Event"><c>backup.failed</c>, <c>backup.recovered</c>, <c>drill.failed</c>, <c>drill.recovered</c>, <c>offsite.failed</c> or <c>offsite.recovered</c>.</param>
/// <param name="Severity"><c>critical</c> (backup or drill failed), <c>warning</c> (offsite copy failed) or <c>info</c> (recovered).</param>
/// <param name="At">When it happened, UTC, ISO 8601.</param>
/// <param name="BackupId">The stored backup concerned, when there is one (a download has none).</param>
/// <param name="Reason">Why it failed, or what worked again.</param>
/// <param name="Server">Which server (<c>CoreScope:Notify:ServerName</c>).</param>
/// <param name="Source">Which of its kind: the backup's trigger, <c>drill</c>, or the offsite target's name.</param>
public sealed record WebhookAlert(
    string Text,
    string Event,
    string Severity,
    string At,
    string? BackupId,
    string Reason,
    string Server,
    string Source);
