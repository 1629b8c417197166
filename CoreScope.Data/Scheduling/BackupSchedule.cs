using Cronos;

namespace CoreScope.Data.Scheduling;

/// <summary>A parsed <c>CoreScope:Backup:Schedule</c> (or <c>DrillSchedule</c>) in its <c>CoreScope:Backup:TimeZone</c>.</summary>
public sealed class BackupSchedule
{
    private readonly CronExpression _expression;

    private BackupSchedule(CronExpression expression, TimeZoneInfo timeZone)
    {
        _expression = expression;
        TimeZone = timeZone;
    }

    public TimeZoneInfo TimeZone { get; }

    /// <summary>The setting of the backup schedule, named in its errors.</summary>
    public const string BackupSetting = "CoreScope:Backup:Schedule";

    /// <summary>The setting of the restore drills' schedule, named in its errors.</summary>
    public const string DrillSetting = "CoreScope:Backup:DrillSchedule";

    /// <summary>
    /// The schedule, or null when <paramref name="cron"/> is empty (no schedule). Throws <see cref="FormatException"/>
    /// naming the setting (<paramref name="setting"/>) when either value cannot be used.
    /// </summary>
    public static BackupSchedule? Parse(string? cron, string? timeZone, string setting = BackupSetting)
    {
        var zone = ParseTimeZone(timeZone);
        if (string.IsNullOrWhiteSpace(cron))
        {
            return null;
        }

        var fields = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length;
        if (fields is not (5 or 6))
        {
            throw new FormatException(
                $"{setting} \"{cron}\" has {fields} fields; a cron expression has 5 (minute hour day month weekday), " +
                "or 6 with seconds first.");
        }

        try
        {
            return new BackupSchedule(CronExpression.Parse(cron, fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard), zone);
        }
        catch (CronFormatException exception)
        {
            throw new FormatException($"{setting} \"{cron}\" is not a cron expression: {exception.Message}", exception);
        }
    }

    /// <summary>The time zone, UTC when empty; throws <see cref="FormatException"/> naming the setting for an unknown id.</summary>
    public static TimeZoneInfo ParseTimeZone(string? timeZone)
    {
        if (string.IsNullOrWhiteSpace(timeZone))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (Exception exception) when (exception is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new FormatException(
                $"CoreScope:Backup:TimeZone \"{timeZone}\" is not a time zone this machine knows; use an IANA id such as Europe/Berlin, or UTC.",
                exception);
        }
    }

    /// <summary>The first run strictly after <paramref name="after"/>, or null when the expression never fires again.</summary>
    public DateTimeOffset? Next(DateTimeOffset after) => _expression.GetNextOccurrence(after, TimeZone);
}
