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
/// when nothing was committed since the last stored backup (<see cref="DatabaseChanges"/>); a run that fails is
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

        var after = timeProvider.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            if (schedule.Next(after) is not { } next)
            {
                logger.LogWarning("The backup schedule {Schedule} has no further run", _options.Schedule);
                activity.SetNextScheduledAt(null);
                return;
            }

            activity.SetNextScheduledAt(next);

            // The timer is set before the line is logged, so whoever reads the line (a test moving the clock) finds it set.
            var wait = next - timeProvider.GetUtcNow();
            var due = wait > TimeSpan.Zero ? Task.Delay(wait, timeProvider, stoppingToken) : Task.CompletedTask;
            logger.LogInformation("Next scheduled backup at {Next:O} ({TimeZone})", next, schedule.TimeZone.Id);
            await due;

            try
            {
                await RunAsync(next, stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // An exception out of a BackgroundService stops the whole host; one bad night must not stop the server.
                logger.LogError(exception, "Scheduled backup of {Planned:O} failed unexpectedly; the schedule goes on", next);
            }

            // From the later of the planned time and now: a run that took longer than the interval skips the runs it
            // overlapped instead of starting them all at once.
            var now = timeProvider.GetUtcNow();
            after = now > next ? now : next;
        }
    }

    /// <summary>One scheduled run: skip when nothing changed, else store, retrying failures with backoff.</summary>
    private async Task RunAsync(DateTimeOffset planned, CancellationToken stoppingToken)
    {
        if (!await changes.ChangedSinceLastBackupAsync(stoppingToken))
        {
            logger.LogInformation("Scheduled backup of {Planned:O} skipped: nothing was written to the database since the last stored backup", planned);
            return;
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
