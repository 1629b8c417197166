using CoreScope.Data.Backup;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Options;
using CoreScope.Data.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Scheduling;

/// <summary>
/// Stores a backup at each time of <c>CoreScope:Backup:Schedule</c>, through the same
/// <see cref="BackupStore.StoreBackupAsync"/> as <c>POST /api/backups</c>. A run is skipped, and says so in the log,
/// when nothing was committed since the last stored backup (<see cref="DatabaseChanges"/>) and that backup is still in
/// the store, good; one deleted since holds nothing, so the run stores again. A run that fails is
/// tried again after <c>RetryDelaySeconds</c>, doubling, <c>RetryAttempts</c> times, each failure in the log.
/// Every wait goes through <see cref="TimeProvider"/>, so tests move the clock instead of waiting for it.
/// </summary>
public sealed class ScheduledBackupService(
    BackupStore store,
    DatabaseChanges changes,
    BackupActivity activity,
    IOptions<BackupScheduleOptions> options,
    IOptions<BackupStoreOptions> storeOptions,
    TimeProvider timeProvider,
    ILogger<ScheduledBackupService> logger) : BackgroundService
{
    private readonly BackupScheduleOptions _options = options.Value;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var schedule = BackupSchedule.Parse(_options.Schedule, _options.TimeZone);
        if (schedule is null)
        {
            logger.LogInformation("No backup schedule (CoreScope:Backup:Schedule is empty): backups are stored only when asked for");
            activity.SetNextScheduledAt(null);
            return;
        }

        await CronLoop.RunAsync(schedule, _options.Schedule!, "backup", timeProvider, logger, activity.SetNextScheduledAt, RunAsync, stoppingToken);
    }

    /// <summary>One scheduled run: skip when nothing changed and the backup of that state is stored, else store, retrying failures with backoff.</summary>
    private async Task RunAsync(DateTimeOffset planned, CancellationToken stoppingToken)
    {
        if (await changes.UnchangedSinceBackupAsync(stoppingToken) is { } holder)
        {
            if (store.HoldsGood(holder))
            {
                logger.LogInformation(
                    "Scheduled backup of {Planned:O} skipped: nothing was written to the database since the last stored backup, {Id}", planned, holder);
                return;
            }

            logger.LogInformation(
                "Scheduled backup of {Planned:O} stores again although nothing was written: the last stored backup, {Id}, is no longer in the store, or is damaged",
                planned, holder);
        }

        var attempts = _options.RetryAttempts + 1;
        var delay = TimeSpan.FromSeconds(_options.RetryDelaySeconds);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var manifest = await store.StoreBackupAsync(BackupTrigger.Schedule, method: null, storeOptions.Value.CompressScheduled, stoppingToken);
                logger.LogInformation("Scheduled backup of {Planned:O} stored as {Id}", planned, manifest.Id);
                return;
            }
            catch (Exception exception) when (exception is BackupBusyException or BackupFailedException or IOException)
            {
                if (attempt >= attempts)
                {
                    logger.LogError("Scheduled backup of {Planned:O} failed {Attempts} times and is given up until the next run: {Reason}",
                        planned, attempts, exception.Message);
                    return;
                }

                var retry = Task.Delay(delay, timeProvider, stoppingToken);
                logger.LogWarning("Scheduled backup of {Planned:O} failed (attempt {Attempt} of {Attempts}), retrying in {Delay} s: {Reason}",
                    planned, attempt, attempts, (int)delay.TotalSeconds, exception.Message);
                await retry;
                delay *= 2;
            }
        }
    }
}
