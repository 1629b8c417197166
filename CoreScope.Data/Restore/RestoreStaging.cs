using System.IO.Compression;
using System.Security.Cryptography;
using CoreScope.Data.Backup;

namespace CoreScope.Data.Restore;

/// <summary>What was written to the staging folder from an upload or a stored backup.</summary>
/// <param name="DatabasePath">The unpacked database file.</param>
/// <param name="Sha256">The SHA-256 of the bytes as they were received (the <c>.db.gz</c> when gzip).</param>
/// <param name="ReceivedBytes">How many bytes were received.</param>
/// <param name="WasGzip">Whether the bytes were gzip.</param>
/// <param name="DatabaseBytes">The unpacked database's size.</param>
internal sealed record StagedFile(string DatabasePath, byte[] Sha256, long ReceivedBytes, bool WasGzip, long DatabaseBytes);

/// <summary>
/// Streams what is to be restored into a staging file: gzip is recognised by its magic bytes and unpacked while it
/// streams, the received bytes are hashed on the way, and both the received and the unpacked size are capped as the
/// bytes arrive, so an oversized upload or a gzip bomb is refused after at most the cap, never after the whole of it.
/// </summary>
internal static class RestoreStaging
{
    public const string DatabaseFileName = "restore.db";

    public static async Task<StagedFile> StageAsync(
        Stream source, string folder, long maxUploadBytes, long maxDatabaseBytes, CancellationToken cancellationToken)
    {
        var target = Path.Combine(folder, DatabaseFileName);
        await using var upload = new UploadStream(source, maxUploadBytes);
        var first = new byte[2];
        var peeked = await ReadUpToAsync(upload, first, cancellationToken);
        if (peeked == 0)
        {
            throw new RestoreFailedException(RestoreFailure.Empty,
                "The request body is empty: send the database (.db or .db.gz) as the body, or name a stored backup with ?from={id}.");
        }

        var isGzip = peeked == 2 && first[0] == 0x1f && first[1] == 0x8b;
        upload.Unread(first.AsMemory(0, peeked));
        long written;
        await using (var output = StagingFiles.CreateNew(target))
        {
            if (isGzip)
            {
                await using var gzip = new GZipStream(upload, CompressionMode.Decompress, leaveOpen: true);
                written = await CopyCappedAsync(gzip, output, maxDatabaseBytes, isGzip, cancellationToken);
            }
            else
            {
                written = await CopyCappedAsync(upload, output, maxDatabaseBytes, isGzip, cancellationToken);
            }
        }

        // Whatever the decompressor left unread (a gzip trailer's neighbour) still counts toward the digest.
        await upload.CopyToAsync(Stream.Null, cancellationToken);
        return new StagedFile(target, upload.Hash(), upload.BytesRead, isGzip, written);
    }

    private static async Task<long> CopyCappedAsync(Stream input, Stream output, long maxDatabaseBytes, bool isGzip, CancellationToken cancellationToken)
    {
        var buffer = new byte[StagingFiles.CopyBufferBytes];
        long written = 0;
        while (true)
        {
            int read;
            try
            {
                read = await input.ReadAsync(buffer, cancellationToken);
            }
            catch (InvalidDataException exception) when (isGzip)
            {
                throw new RestoreFailedException(RestoreFailure.Unusable,
                    "The upload starts like gzip but is not valid gzip (" + exception.Message + "). Send the .db.gz as it was downloaded, or the .db.",
                    exception);
            }

            if (read == 0)
            {
                return written;
            }

            written += read;
            if (written > maxDatabaseBytes)
            {
                throw new RestoreFailedException(RestoreFailure.TooLarge,
                    $"The {(isGzip ? "gzip upload unpacks to" : "database is")} more than {maxDatabaseBytes / DiskSpace.Megabyte} MB " +
                    "(CoreScope:Restore:MaxDatabaseMB); it was refused there, before the rest was " + (isGzip ? "unpacked" : "read") +
                    ". Raise the setting if the database really is that large.");
            }

            await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    private static async Task<int> ReadUpToAsync(Stream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    /// <summary>Reads the source once: counts and hashes every byte, refuses past the cap, and can give back what was peeked.</summary>
    private sealed class UploadStream(Stream inner, long maxBytes) : ForwardReadStream
    {
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private ReadOnlyMemory<byte> _unread = ReadOnlyMemory<byte>.Empty;

        public long BytesRead { get; private set; }

        public void Unread(ReadOnlyMemory<byte> bytes) => _unread = bytes.ToArray();

        public byte[] Hash() => _hash.GetHashAndReset();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_unread.IsEmpty)
            {
                var count = Math.Min(buffer.Length, _unread.Length);
                _unread[..count].CopyTo(buffer);
                _unread = _unread[count..];
                return count;
            }

            var read = await inner.ReadAsync(buffer, cancellationToken);
            BytesRead += read;
            if (BytesRead > maxBytes)
            {
                throw new RestoreFailedException(RestoreFailure.TooLarge,
                    $"The upload is larger than {maxBytes / DiskSpace.Megabyte} MB (CoreScope:Restore:MaxUploadMB); it was refused there. " +
                    "Send it gzip-compressed, or raise the setting.");
            }

            _hash.AppendData(buffer.Span[..read]);
            return read;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _hash.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
