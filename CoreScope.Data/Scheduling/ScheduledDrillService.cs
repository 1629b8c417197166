using CoreScope.Data.Backup;
using CoreScope.Data.Drills;
using CoreScope.Data.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Scheduling;

/// <summary>
/// Drills the newest good stored backup at each time of <c>CoreScope:Backup:DrillSchedule</c>, through the same
/// <see cref="DrillService"/> as <c>POST /api/backups/{id}/drill</c>. A run refused because the gate is held (a backup
/// or restore is running) or the temp folder is short of room is tried again like a scheduled backup
/// (<c>RetryDelaySeconds</c>, doubling, <c>RetryAttempts</c> times). Every wait goes through <see cref="TimeProvider"/>.
/// </summary>
public sealed class ScheduledDrillService(
    DrillService drills,
    IOptions<BackupScheduleOptions> options,
    TimeProvider timeProvider,
    ILogger<ScheduledDrillService> logger) : BackgroundService
{
    private readonly BackupScheduleOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = BackupSchedule.Parse(_options.DrillSchedule, _options.TimeZone, BackupSchedule.DrillSetting);
        if (schedule is null)
        {
            logger.LogInformation("No drill schedule (CoreScope:Backup:DrillSchedule is empty): stored backups are drilled only when asked for");
            return;
        }

        await CronLoop.RunAsync(schedule, _options.DrillSchedule!, "drill", timeProvider, logger, _ => { }, RunAsync, stoppingToken);
    }

    private async Task RunAsync(DateTimeOffset planned, CancellationToken stoppingToken)
    {
        var attempts = _options.RetryAttempts + 1;
        var delay = TimeSpan.FromSeconds(_options.RetryDelaySeconds);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var manifest = await drills.DrillNewestAsync(stoppingToken);
                if (manifest is null)
                {
                    logger.LogWarning("Scheduled drill of {Planned:O} skipped: the store holds no good backup to drill", planned);
                }
                else
                {
                    logger.LogInformation("Scheduled drill of {Planned:O}: stored backup {Id} {Outcome}", planned, manifest.Id, manifest.Drill?.Outcome);
                }

                return;
            }
            catch (Exception exception) when (exception is BackupBusyException or BackupFailedException)
            {
                if (attempt >= attempts)
                {
                    logger.LogError("Scheduled drill of {Planned:O} could not run {Attempts} times and is given up until the next run: {Reason}",
                        planned, attempts, exception.Message);
                    return;
                }

                var retry = Task.Delay(delay, timeProvider, stoppingToken);
                logger.LogWarning("Scheduled drill of {Planned:O} could not run (attempt {Attempt} of {Attempts}), retrying in {Delay} s: {Reason}",
                    planned, attempt, attempts, (int)delay.TotalSeconds, exception.Message);
                await retry;
                delay *= 2;
            }
        }
    }
}
