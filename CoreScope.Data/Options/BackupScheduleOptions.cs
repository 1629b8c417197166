using System.ComponentModel.DataAnnotations;
using CoreScope.Data.Scheduling;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Options;

/// <summary>
/// When the server backs itself up into the store (section <c>CoreScope:Backup</c>, beside the snapshot settings).
/// Meanings and defaults: docs/backup.md.
/// </summary>
public sealed class BackupScheduleOptions
{
    public const string SectionName = "CoreScope:Backup";

    /// <summary>A cron expression, 5 fields (minute precision) or 6 with seconds first; empty turns the schedule off.</summary>
    public string? Schedule { get; set; }

    /// <summary>
    /// A cron expression for restore drills of the newest good stored backup, in the same form as <see cref="Schedule"/>;
    /// empty (the default) means no scheduled drills.
    /// </summary>
    public string? DrillSchedule { get; set; }

    /// <summary>The time zone <see cref="Schedule"/>, <see cref="DrillSchedule"/> and retention's days, weeks and months are read in (IANA or Windows id).</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>How often a failed scheduled backup is tried again before the run is given up.</summary>
    [Range(0, 20, ErrorMessage = "CoreScope:Backup:RetryAttempts must be a whole number from 0 to 20.")]
    public int RetryAttempts { get; set; } = 3;

    /// <summary>The wait before the first retry; it doubles with each further one.</summary>
    [Range(1, 86_400, ErrorMessage = "CoreScope:Backup:RetryDelaySeconds must be a whole number from 1 to 86400.")]
    public int RetryDelaySeconds { get; set; } = 60;
}

/// <summary>Parses the schedule and its time zone at start, so a typo stops the server with the setting's name.</summary>
public sealed class BackupScheduleOptionsValidator : IValidateOptions<BackupScheduleOptions>
{
    public ValidateOptionsResult Validate(string? name, BackupScheduleOptions options)
    {
        var failures = new List<string>();
        try
        {
            BackupSchedule.Parse(options.Schedule, options.TimeZone);
        }
        catch (FormatException exception)
        {
            failures.Add(exception.Message);
        }

        try
        {
            BackupSchedule.Parse(options.DrillSchedule, options.TimeZone, BackupSchedule.DrillSetting);
        }
        catch (FormatException exception) when (!failures.Contains(exception.Message))
        {
            failures.Add(exception.Message);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
