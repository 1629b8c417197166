using Microsoft.Extensions.Logging;

namespace CoreScope.Data.Scheduling;

/// <summary>
/// The loop both schedules run (backups and drills): wait for the next time the cron expression names, run, repeat.
/// One run's unexpected failure is logged and the schedule goes on, and a run that took longer than the interval skips
/// the times it overlapped instead of starting them all at once. Every wait goes through the <see cref="TimeProvider"/>.
/// </summary>
internal static class CronLoop
{
    /// <param name="schedule">The parsed schedule.</param>
    /// <param name="expression">The setting's text, for the log.</param>
    /// <param name="what">What runs (<c>backup</c>, <c>drill</c>), for the log.</param>
    /// <param name="onNext">Told each next time before the wait (null: there is none), for health.</param>
    /// <param name="timeProvider">The server's clock (a test's, in tests).</param>
    /// <param name="logger">The schedule's own logger.</param>
    /// <param name="run">One run at its planned time.</param>
    /// <param name="stoppingToken">The host's stop.</param>
    public static async Task RunAsync(
        BackupSchedule schedule,
        string expression,
        string what,
        TimeProvider timeProvider,
        ILogger logger,
        Action<DateTimeOffset?> onNext,
        Func<DateTimeOffset, CancellationToken, Task> run,
        CancellationToken stoppingToken)
    {
        var after = timeProvider.GetUtcNow();
        while (!stoppingToken.IsCancellationRequested)
        {
            if (schedule.Next(after) is not { } next)
            {
                logger.LogWarning("The {What} schedule {Schedule} has no further run", what, expression);
                onNext(null);
                return;
            }

            onNext(next);

            // The timer is set before the line is logged, so whoever reads the line (a test moving the clock) finds it set.
            var wait = next - timeProvider.GetUtcNow();
            var due = wait > TimeSpan.Zero ? Task.Delay(wait, timeProvider, stoppingToken) : Task.CompletedTask;
            logger.LogInformation("Next scheduled {What} at {Next:O} ({TimeZone})", what, next, schedule.TimeZone.Id);
            await due;

            try
            {
                await run(next, stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // An exception out of a BackgroundService stops the whole host; one bad night must not stop the server.
                logger.LogError(exception, "Scheduled {What} of {Planned:O} failed unexpectedly; the schedule goes on", what, next);
            }

            var now = timeProvider.GetUtcNow();
            after = now > next ? now : next;
        }
    }
}
