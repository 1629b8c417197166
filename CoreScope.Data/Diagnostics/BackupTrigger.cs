namespace CoreScope.Data.Diagnostics;

/// <summary>What started a backup; the <c>trigger</c> label of <c>corescope_backups_total</c>.</summary>
/// <remarks>
/// An enum rather than a free string so that a label can never take an unbounded set of values (each value is a
/// series Prometheus keeps forever) nor carry anything a caller did not mean to publish.
/// </remarks>
public enum BackupTrigger
{
    /// <summary><c>GET /api/backup</c>: a snapshot made for a client and sent to it.</summary>
    Download,

    /// <summary>A stored backup someone asked for (<c>POST /api/backups</c>, issue 12).</summary>
    Manual,

    /// <summary>A stored backup made by <c>CoreScope:Backup:Schedule</c> (issue 12).</summary>
    Schedule,

    /// <summary>The safety copy a restore takes before it replaces the database (issue 13).</summary>
    PreRestore,
}

/// <summary>How a drill or a restore ended; the <c>outcome</c> label of their counters.</summary>
public enum CheckOutcome
{
    Passed,
    Failed,
}

/// <summary>The words the labels and the webhook use, as the manifests of issue 12 spell them.</summary>
public static class MonitoringLabels
{
    public static string Of(BackupTrigger trigger) => trigger switch
    {
        BackupTrigger.Download => "download",
        BackupTrigger.Manual => "manual",
        BackupTrigger.Schedule => "schedule",
        BackupTrigger.PreRestore => "pre-restore",
        _ => throw new ArgumentOutOfRangeException(nameof(trigger), trigger, "Not a backup trigger."),
    };

    public static string Of(CheckOutcome outcome) => outcome switch
    {
        CheckOutcome.Passed => "passed",
        CheckOutcome.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, "Not an outcome."),
    };
}
