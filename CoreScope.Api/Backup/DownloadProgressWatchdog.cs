using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Connections.Features;

namespace CoreScope.Api.Backup;

/// <summary>
/// Cuts a backup download that stops moving. Kestrel's minimum response rate cannot: it gives each write its own
/// time (bytes ÷ rate) and adds the times of writes made back to back, so after the first megabytes land in the
/// socket buffers a client that reads nothing more kept the connection, the snapshot and the only backup slot until
/// <c>MaxDownloadSeconds</c> (measured: 1800 s with the defaults). This watchdog looks once a second at the bytes
/// TCP has seen the client acknowledge (Linux <c>TCP_INFO</c>): once the grace period is over, a window of that
/// length that moved less than the minimum rate allows aborts the connection. Where TCP's count cannot be read (not
/// Linux, or no socket), only completed writes show progress, and the kernel wakes a writer only after a large part
/// of its send buffer has drained (half of up to 4 MB), so a slow client can go many seconds without one: there a
/// download is cut after <see cref="WriteStallLimit"/> without a single completed write.
/// </summary>
public sealed class DownloadProgressWatchdog : IAsyncDisposable
{
    /// <summary>How long a download may start slowly, and the window its rate is measured over after that.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(5);

    /// <summary>Where only writes show progress: how long a download may go without one.</summary>
    public static readonly TimeSpan WriteStallLimit = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

    // Linux: IPPROTO_TCP, TCP_INFO, and where struct tcp_info keeps tcpi_bytes_acked (a u64, kernel 4.1 and later);
    // tcpi_state is its first byte, TCP_CLOSE (7) once the peer reset the connection.
    private const int TcpInfoOption = 11;
    private const int BytesAckedOffset = 120;
    private const byte TcpClosed = 7;

    // How often the end of a download looks whether the client has acknowledged its last bytes.
    private static readonly TimeSpan DeliveryPoll = TimeSpan.FromMilliseconds(20);

    private readonly HttpContext _context;
    private readonly int _minBytesPerSecond;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Socket? _socket;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly long _acknowledgedAtStart;
    private long _bytesAccepted;

    private DownloadProgressWatchdog(HttpContext context, int minBytesPerSecond, TimeProvider timeProvider, ILogger logger)
    {
        _context = context;
        _minBytesPerSecond = minBytesPerSecond;
        _timeProvider = timeProvider;
        _logger = logger;
        var socket = context.Features.Get<IConnectionSocketFeature>()?.Socket;
        _acknowledgedAtStart = socket is not null ? BytesAcknowledged(socket) ?? -1 : -1;
        _socket = _acknowledgedAtStart >= 0 ? socket : null;
        _loop = minBytesPerSecond > 0 ? WatchAsync(_stop.Token) : Task.CompletedTask;
    }

    /// <summary>
    /// True when progress is read from TCP, so the response may be written in large pieces; otherwise each write is
    /// progress, and writes must be small enough that a slow client still completes one within the window.
    /// </summary>
    public bool SeesTransportProgress => _socket is not null;

    /// <summary>Starts watching the response of <paramref name="context"/>; 0 bytes per second turns the watch off.</summary>
    public static DownloadProgressWatchdog Start(HttpContext context, int minBytesPerSecond, TimeProvider timeProvider, ILogger logger) =>
        new(context, minBytesPerSecond, timeProvider, logger);

    /// <summary>Counts bytes the response body has accepted (the progress where TCP's cannot be read).</summary>
    public void Accepted(int bytes) => Interlocked.Add(ref _bytesAccepted, bytes);

    /// <summary>
    /// After the last write: waits until TCP has seen the client acknowledge the whole body, and says whether it did.
    /// Kestrel completes writes to a connection the client has reset without an error, and tells the request only a
    /// moment later, so a client that left half-way looked like a delivered backup (seen: 48 MB "sent" in 213 ms to a
    /// client that had read 16 KB and closed). False when the connection died first; true where TCP's count cannot be
    /// read, since completed writes are all there is to go by. The watch keeps running meanwhile, so a client that
    /// stops reading is still cut, and the download's deadline ends the wait through <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task<bool> WaitForDeliveryAsync(long bodyBytes, CancellationToken cancellationToken)
    {
        if (_socket is null)
        {
            return true;
        }

        while (true)
        {
            var (acknowledged, closed) = ReadTcpInfo(_socket);
            if (acknowledged is { } total && total - _acknowledgedAtStart >= bodyBytes)
            {
                return true;
            }

            if (acknowledged is null || closed)
            {
                return false;
            }

            // A poll, not a measured time: the server's clock may be a test's.
            await Task.Delay(DeliveryPoll, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        var samples = new Queue<(long At, long Progress)>();
        var started = _timeProvider.GetTimestamp();
        var (lastProgress, lastMoved) = (0L, started);
        using var timer = new PeriodicTimer(CheckEvery, _timeProvider);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            var now = _timeProvider.GetTimestamp();
            if (Progress() is not { } progress)
            {
                // The socket is gone: the connection ended, and with it the download.
                return;
            }

            if (_socket is null)
            {
                if (progress != lastProgress)
                {
                    (lastProgress, lastMoved) = (progress, now);
                }
                else if (_timeProvider.GetElapsedTime(lastMoved, now) >= WriteStallLimit)
                {
                    Cut(0, WriteStallLimit.TotalSeconds);
                    return;
                }

                continue;
            }

            samples.Enqueue((now, progress));
            if (_timeProvider.GetElapsedTime(started, now) < Window)
            {
                continue;
            }

            // The oldest sample at least a window old: how far the download got since then.
            while (samples.Count > 1 && _timeProvider.GetElapsedTime(samples.ElementAt(1).At, now) >= Window)
            {
                samples.Dequeue();
            }

            var (then, before) = samples.Peek();
            var seconds = _timeProvider.GetElapsedTime(then, now).TotalSeconds;
            if (seconds >= Window.TotalSeconds && progress - before < _minBytesPerSecond * seconds)
            {
                Cut(progress - before, seconds);
                return;
            }
        }
    }

    private void Cut(long bytes, double seconds)
    {
        _logger.LogWarning(
            "Backup download to {Client} cut: {Bytes} bytes in the last {Seconds:0} s, under CoreScope:Backup:MinDownloadBytesPerSecond ({Minimum} B/s)",
            _context.Connection.RemoteIpAddress?.ToString() ?? "unknown", bytes, seconds, _minBytesPerSecond);
        DownloadCut.Abort(_context, string.Create(CultureInfo.InvariantCulture,
            $"the client took {bytes} bytes in {seconds:0} s, under CoreScope:Backup:MinDownloadBytesPerSecond ({_minBytesPerSecond} B/s)"));
    }

    private long? Progress() => _socket is not null ? BytesAcknowledged(_socket) : Interlocked.Read(ref _bytesAccepted);

    // Bytes the peer has acknowledged on this connection, or null where TCP_INFO is not Linux's (or the socket is gone).
    private static long? BytesAcknowledged(Socket socket) => ReadTcpInfo(socket).Acknowledged;

    private static (long? Acknowledged, bool Closed) ReadTcpInfo(Socket socket)
    {
        if (!OperatingSystem.IsLinux())
        {
            return (null, false);
        }

        Span<byte> info = stackalloc byte[256];
        try
        {
            var length = socket.GetRawSocketOption((int)SocketOptionLevel.Tcp, TcpInfoOption, info);
            return length >= BytesAckedOffset + sizeof(long)
                ? ((long)MemoryMarshal.Read<ulong>(info[BytesAckedOffset..]), info[0] == TcpClosed)
                : (null, false);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            return (null, true);
        }
    }
}
