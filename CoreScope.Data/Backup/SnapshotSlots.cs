using System.Threading.RateLimiting;
using CoreScope.Data.Options;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Backup;

/// <summary>
/// The one-at-a-time gate for everything that copies the whole database: at most
/// <see cref="BackupOptions.MaxConcurrent"/> slots are held at once, each from the start of a snapshot to the
/// deletion of its file. A request that finds no free slot is refused with a Retry-After guessed from how long the
/// last slot was held.
/// </summary>
public sealed class SnapshotSlots : IDisposable
{
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan LongestRetryAfter = TimeSpan.FromMinutes(5);

    // A client has all the bytes of a download a moment before the server has deleted the snapshot and freed its
    // slot (the response ends, then its registered disposables run; unlinking a 1 GB file takes ~100 ms). A script
    // that downloads again straight away waits that moment out instead of being refused; anything longer is a real
    // overlap and gets the 429. BackupLimitsTests.Backup_RightAfterAnotherFinished_IsNotRefused fails without it.
    private static readonly TimeSpan SlotWait = TimeSpan.FromSeconds(2);

    private readonly int _maxConcurrent;
    private readonly TimeProvider _timeProvider;
    private readonly ConcurrencyLimiter _limiter;
    private long _lastHeldTicks;

    public SnapshotSlots(IOptions<BackupOptions> options, TimeProvider timeProvider)
    {
        _maxConcurrent = options.Value.MaxConcurrent;
        _timeProvider = timeProvider;

        // The framework's concurrency limiter with a queue as short as the limit: requests beyond limit + queue are
        // refused at once, and a queued one waits at most SlotWait.
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = _maxConcurrent,
            QueueLimit = _maxConcurrent,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>Takes a slot, waiting at most a moment; throws <see cref="BackupBusyException"/> when none frees up.</summary>
    public async Task<IDisposable> AcquireAsync(CancellationToken cancellationToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(SlotWait);
        RateLimitLease lease;
        try
        {
            lease = await _limiter.AcquireAsync(1, wait.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new BackupBusyException(_maxConcurrent, EstimateRetryAfter());
        }

        if (!lease.IsAcquired)
        {
            lease.Dispose();
            throw new BackupBusyException(_maxConcurrent, EstimateRetryAfter());
        }

        return new Slot(this, lease, _timeProvider.GetTimestamp());
    }

    /// <summary>
    /// The slot a caller already holds, lent to work it does under that slot (a restore's safety copy): the work runs
    /// without taking a second slot, which the gate would refuse, and disposing what this returns frees nothing.
    /// </summary>
    public IDisposable Borrow(IDisposable heldSlot) =>
        heldSlot is Slot slot && ReferenceEquals(slot.Owner, this) && !slot.IsReleased
            ? new BorrowedSlot()
            : throw new ArgumentException("Only a slot taken from this gate and not yet freed can be lent.", nameof(heldSlot));

    public void Dispose() => _limiter.Dispose();

    // How long the last slot was held, from snapshot to deletion: the best guess of when one frees up.
    private TimeSpan EstimateRetryAfter()
    {
        var last = TimeSpan.FromTicks(Interlocked.Read(ref _lastHeldTicks));
        var estimate = last > TimeSpan.Zero ? last : DefaultRetryAfter;
        return TimeSpan.FromSeconds(Math.Min(RetryAfter.ToSeconds(estimate), LongestRetryAfter.TotalSeconds));
    }

    private sealed class BorrowedSlot : IDisposable
    {
        public void Dispose()
        {
        }
    }

    private sealed class Slot(SnapshotSlots owner, RateLimitLease lease, long takenAt) : IDisposable
    {
        private int _released;

        public SnapshotSlots Owner => owner;

        public bool IsReleased => Volatile.Read(ref _released) != 0;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                Interlocked.Exchange(ref owner._lastHeldTicks, owner._timeProvider.GetElapsedTime(takenAt).Ticks);
                lease.Dispose();
            }
        }
    }
}
