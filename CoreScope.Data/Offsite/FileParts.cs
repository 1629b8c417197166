using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace CoreScope.Data.Offsite;

/// <summary>
/// A local file read once, front to back, in parts of one size: one buffer of that size is the memory an upload holds,
/// and the SHA-256 of the whole file is computed on the way, so what was sent is exactly what was hashed.
/// </summary>
internal sealed class FileParts : IDisposable
{
    /// <summary>S3 takes at most 10,000 parts per object, and Azure 50,000 blocks; a larger file gets larger parts.</summary>
    public const int MaxParts = 10_000;

    private readonly FileStream _file;
    private readonly byte[] _buffer;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public FileParts(string path, int partSizeBytes)
    {
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
        Length = _file.Length;
        var needed = (Length + MaxParts - 1) / MaxParts;
        PartSize = (int)Math.Max(partSizeBytes, (needed + (1 << 20) - 1) >> 20 << 20);
        PartCount = Math.Max(1, (int)((Length + PartSize - 1) / PartSize));
        _buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(PartSize, Math.Max(Length, 1)));
    }

    public long Length { get; }

    public int PartSize { get; }

    public int PartCount { get; }

    /// <summary>Reads the next part (1-based number) into the buffer; its bytes stay valid until the next call.</summary>
    public async Task<ReadOnlyMemory<byte>> ReadNextAsync(CancellationToken cancellationToken)
    {
        var size = (int)Math.Min(PartSize, Length - _file.Position);
        var memory = _buffer.AsMemory(0, size);
        await _file.ReadExactlyAsync(memory, cancellationToken);
        _sha256.AppendData(memory.Span);
        return memory;
    }

    /// <summary>The SHA-256 of every byte read, once the last part was read.</summary>
    public string Sha256()
    {
        if (_file.Position != Length)
        {
            throw new InvalidOperationException("The file was not read to its end.");
        }

        return Convert.ToHexStringLower(_sha256.GetHashAndReset());
    }

    /// <summary>A read-only stream over a part's bytes, without copying them.</summary>
    public static MemoryStream AsStream(ReadOnlyMemory<byte> content) =>
        MemoryMarshal.TryGetArray(content, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(content.ToArray(), writable: false);

    public void Dispose()
    {
        _file.Dispose();
        _sha256.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
    }
}
