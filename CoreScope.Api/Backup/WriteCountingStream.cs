namespace CoreScope.Api.Backup;

/// <summary>
/// Passes writes through to a response body and counts the bytes each one handed on: the audit line's byte count and
/// the download watchdog's progress both read it.
/// </summary>
public sealed class WriteCountingStream(Stream inner, Action<int>? onWritten = null) : Stream
{
    private long _bytesWritten;

    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        inner.Write(buffer, offset, count);
        Counted(count);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await inner.WriteAsync(buffer, cancellationToken);
        Counted(buffer.Length);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    private void Counted(int count)
    {
        Interlocked.Add(ref _bytesWritten, count);
        onWritten?.Invoke(count);
    }
}
