using System.Buffers;
using System.IO.Compression;

namespace CoreScope.Data.Backup;

/// <summary>
/// gzip on every core: the source is cut into blocks, each block is compressed on its own into a complete gzip
/// member, and the members are written in order. RFC 1952 (2.2) makes a file of concatenated members one gzip file:
/// gunzip and .NET's <see cref="GZipStream"/> (since .NET Core 3.0, so pwsh 7) read it whole. Readers that stop after
/// the first member (Windows PowerShell 5.1's GZipStream on .NET Framework) are named in docs/backup.md.
/// </summary>
/// <remarks>
/// Memory is bounded: at most <c>2 × parallelism</c> blocks are in flight, each an input buffer and its member, taken
/// from a pool of this call's own: the buffers of a 1 GB snapshot are the same few MB as a 10 MB one's, and none stays
/// behind. (Renting from <see cref="ArrayPool{T}.Shared"/> instead, which keeps returned arrays per thread and per
/// core, the server's resident set grew by 52 MB during a 1 GiB gzip download; with this pool by 41 to 44 MB; without
/// gzip by 13 to 15 MB: docs/benchmarks.md.)
/// The output is streamed: the first member is written while later blocks are still being compressed.
/// </remarks>
public static class ParallelGzip
{
    /// <summary>
    /// 1 MiB blocks. Measured at <see cref="CompressionLevel.Fastest"/> on two cores over 256 MiB of the bench database
    /// (docs/backup.md, "gzip on every core"): every size from 64 KiB to 4 MiB costs the same CPU time, and the file
    /// shrinks less as blocks get smaller (64 KiB 1.88x, 256 KiB 1.91x, 1 MiB 1.913x, 4 MiB 1.915x, one single
    /// member 1.916x). 1 MiB is within 0.2% of one member while the blocks in flight stay under 10 MB.
    /// </summary>
    public const int DefaultBlockBytes = 1024 * 1024;

    /// <summary>Compresses <paramref name="source"/> to its end into <paramref name="destination"/> as gzip, on every core.</summary>
    public static Task CompressAsync(Stream source, Stream destination, CompressionLevel level, CancellationToken cancellationToken) =>
        CompressAsync(source, destination, level, DefaultBlockBytes, Environment.ProcessorCount, cancellationToken);

    /// <summary>
    /// Compresses <paramref name="source"/> to its end into <paramref name="destination"/> as concatenated gzip members
    /// of <paramref name="blockBytes"/> of input each, <paramref name="parallelism"/> at a time. Writes nothing after
    /// a failure or a cancellation; what was written before is not a whole gzip file.
    /// </summary>
    public static async Task CompressAsync(
        Stream source, Stream destination, CompressionLevel level, int blockBytes, int parallelism, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);

        // Twice the workers: while the oldest member is being written, every core still has a block to compress.
        var maxInFlight = 2 * parallelism;
        var inFlight = new Queue<Block>(maxInFlight);

        // Each block in flight holds an input and a member, plus the input being read: arrays of up to twice a block
        // (deflate never makes data more than an eighth larger), so this pool never has to allocate past its start.
        var pool = ArrayPool<byte>.Create(2 * Math.Max(blockBytes, 64 * 1024), 2 * maxInFlight + 2);
        try
        {
            var any = false;
            while (true)
            {
                var input = pool.Rent(blockBytes);
                int count;
                try
                {
                    count = await ReadBlockAsync(source, input.AsMemory(0, blockBytes), cancellationToken);
                }
                catch
                {
                    pool.Return(input);
                    throw;
                }

                // An empty source still becomes one (empty) member: a file of no bytes is not gzip to gunzip.
                if (count == 0 && any)
                {
                    pool.Return(input);
                    break;
                }

                any = true;
                inFlight.Enqueue(new Block(input, Task.Run(() => CompressBlock(input, count, level, pool), CancellationToken.None)));
                if (inFlight.Count == maxInFlight)
                {
                    await WriteOldestAsync(inFlight, destination, pool, cancellationToken);
                }

                if (count < blockBytes)
                {
                    break;
                }
            }

            while (inFlight.Count > 0)
            {
                await WriteOldestAsync(inFlight, destination, pool, cancellationToken);
            }
        }
        finally
        {
            // After a failure or a cancellation: let the workers finish before their buffers go back to the pool.
            while (inFlight.TryDequeue(out var block))
            {
                try
                {
                    (await block.Member).Dispose();
                }
                catch (Exception exception) when (exception is not OutOfMemoryException)
                {
                    // The first failure is already on its way out; this block's own does not matter.
                }
                finally
                {
                    pool.Return(block.Input);
                }
            }
        }
    }

    private static async Task WriteOldestAsync(Queue<Block> inFlight, Stream destination, ArrayPool<byte> pool, CancellationToken cancellationToken)
    {
        var block = inFlight.Peek();
        using var member = await block.Member.WaitAsync(cancellationToken);
        await destination.WriteAsync(member.Written, cancellationToken);
        inFlight.Dequeue();
        pool.Return(block.Input);
    }

    private static async Task<int> ReadBlockAsync(Stream source, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await source.ReadAsync(buffer[total..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    // RFC 1952 member of no data: header (no flags, no time, unknown OS), an empty final fixed-Huffman deflate block,
    // CRC32 0, length 0. GZipStream writes nothing at all when it is given nothing, which gunzip rejects.
    private static readonly byte[] EmptyMember = [0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF, 0x03, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private static PooledMember CompressBlock(byte[] input, int count, CompressionLevel level, ArrayPool<byte> pool)
    {
        var member = new PooledMember(pool, count / 2 + 4096);
        try
        {
            if (count == 0)
            {
                member.Write(EmptyMember);
                return member;
            }

            using (var gzip = new GZipStream(member, level, leaveOpen: true))
            {
                gzip.Write(input, 0, count);
            }

            return member;
        }
        catch
        {
            member.Dispose();
            throw;
        }
    }

    private sealed record Block(byte[] Input, Task<PooledMember> Member);

    /// <summary>A write-only stream into a pooled buffer that grows by renting a larger one: one gzip member.</summary>
    private sealed class PooledMember(ArrayPool<byte> pool, int initialCapacity) : Stream
    {
        private byte[] _buffer = pool.Rent(initialCapacity);
        private int _length;

        public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _length;

        public override long Position
        {
            get => _length;
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (_length + buffer.Length > _buffer.Length)
            {
                var larger = pool.Rent(Math.Max(_buffer.Length * 2, _length + buffer.Length));
                _buffer.AsSpan(0, _length).CopyTo(larger);
                pool.Return(_buffer);
                _buffer = larger;
            }

            buffer.CopyTo(_buffer.AsSpan(_length));
            _length += buffer.Length;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing && _buffer.Length > 0)
            {
                pool.Return(_buffer);
                _buffer = [];
                _length = 0;
            }

            base.Dispose(disposing);
        }
    }
}
