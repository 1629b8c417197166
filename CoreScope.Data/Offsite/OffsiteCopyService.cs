using System.Threading.Channels;
using CoreScope.Data.Diagnostics;
using CoreScope.Data.Store;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoreScope.Data.Offsite;

/// <summary>
/// Copies each stored backup to each target after the store has it, off the store's path: the store raises
/// <see cref="BackupStore.BackupStored"/>, this queues the id (never waiting), and one loop per target copies in order
/// with <see cref="OffsiteUploader.CopyWithRetriesAsync"/>, so a target that is down delays neither the backups nor
/// the other target. At start, the newest good backup that a target lacks is queued for it.
/// </summary>
public sealed class OffsiteCopyService : BackgroundService
{
    /// <summary>Backups waiting per target; past that the oldest waiting one is dropped (the newest matter most), with a log line.</summary>
    public const int QueueLength = 32;

    private readonly OffsiteUploader _uploader;
    private readonly BackupStore _store;
    private readonly BackupActivity _activity;
    private readonly ILogger<OffsiteCopyService> _logger;
    private readonly Dictionary<string, Channel<string>> _queues;

    public OffsiteCopyService(OffsiteUploader uploader, BackupStore store, BackupActivity activity, ILogger<OffsiteCopyService> logger)
    {
        _uploader = uploader;
        _store = store;
        _activity = activity;
        _logger = logger;
        _queues = uploader.Targets.ToDictionary(
            target => target.Name,
            target => Channel.CreateBounded<string>(
                new BoundedChannelOptions(QueueLength) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
                dropped => logger.LogWarning("Offsite copy of backup {Id} to {Target} dropped: {Count} newer backups wait for that target", dropped, target.Name, QueueLength)));
        if (_queues.Count > 0)
        {
            store.BackupStored += Enqueue;
        }
    }

    public override void Dispose()
    {
        _store.BackupStored -= Enqueue;
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_queues.Count == 0)
        {
            return Task.CompletedTask;
        }

        foreach (var target in _uploader.Targets)
        {
            _logger.LogInformation("Offsite copies go to {Target}: {Description}", target.Name, target.Description);

            // A copy that a restart or a long outage left undone: the newest good backup, so a target is never a whole schedule behind.
            var newest = _store.List().FirstOrDefault(manifest => manifest.IsGood);
            if (newest is not null && newest.Offsite?.Any(copy => copy.Target == target.Name) != true)
            {
                _queues[target.Name].Writer.TryWrite(newest.Id);
            }
        }

        return Task.WhenAll(_uploader.Targets.Select(target => RunAsync(target, _queues[target.Name].Reader, stoppingToken)));
    }

    private void Enqueue(BackupManifest manifest)
    {
        foreach (var queue in _queues.Values)
        {
            queue.Writer.TryWrite(manifest.Id);
        }
    }

    // Queued twice (at start, and stored at the same moment), or copied on demand while it waited.
    private bool AlreadyCopied(string backupId, IOffsiteTarget target) =>
        _store.List().FirstOrDefault(manifest => manifest.Id == backupId)?.Offsite?.Any(copy => copy.Target == target.Name) == true;

    private async Task RunAsync(IOffsiteTarget target, ChannelReader<string> queue, CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var backupId in queue.ReadAllAsync(stoppingToken))
            {
                if (AlreadyCopied(backupId, target))
                {
                    continue;
                }

                try
                {
                    await _uploader.CopyWithRetriesAsync(target, backupId, stoppingToken);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    // Whatever went wrong (the temp folder, a local read), the loop goes on: one backup's copy must not
                    // end the copies of the next, nor, as an unhandled exception in a BackgroundService would, the server.
                    _logger.LogError(exception, "Offsite copy of backup {Id} to {Target} failed; the local backup is kept", backupId, target.Name);
                    _activity.RecordOffsiteFailed(target.Name, backupId, exception.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The server stops; a copy cut short is aborted on the target, and the next start queues the newest backup again.
        }
    }
}
