using System.IO.Compression;
using System.IO.Pipelines;
using System.Security.Cryptography;
using CoreScope.Data.Backup;

namespace CoreScope.Api.Tests.Backup;

/// <summary>
/// <see cref="ParallelGzip"/> on its own: one complete gzip member per block, in order, read back whole by every
/// reader an operator uses, with a bounded number of blocks in memory.
/// </summary>
public sealed class ParallelGzipTests : WorkspaceTests
{
    private const int Block = 64 * 1024;

    // Half random bytes as hex (what most of a CoreScope file is), half repeated JSON: both kinds of block.
    private static byte[] Data(int length, int seed = 11)
    {
        var random = new Random(seed);
        var data = new byte[length];
        var json = "{\"type\":\"ADVERT\",\"name\":\"Node\",\"lat\":37.33,\"lon\":-121.89}"u8.ToArray();
        for (var offset = 0; offset < length; offset += 4096)
        {
            var chunk = data.AsSpan(offset, Math.Min(4096, length - offset));
            if ((offset / 4096) % 2 == 0)
            {
                var raw = new byte[(chunk.Length + 1) / 2];
                random.NextBytes(raw);
                System.Text.Encoding.ASCII.GetBytes(Convert.ToHexString(raw).AsSpan(0, chunk.Length), chunk);
            }
            else
            {
                for (var index = 0; index < chunk.Length; index++)
                {
                    chunk[index] = json[index % json.Length];
                }
            }
        }

        return data;
    }

    private static async Task<byte[]> CompressAsync(byte[] data, int blockBytes = Block, int parallelism = 2, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var output = new MemoryStream();
        await ParallelGzip.CompressAsync(new MemoryStream(data), output, level, blockBytes, parallelism, CancellationToken.None);
        return output.ToArray();
    }

    private static byte[] Decompress(byte[] gzip)
    {
        using var reader = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
        using var output = new MemoryStream();
        reader.CopyTo(output);
        return output.ToArray();
    }

    [TestCase(1)]
    [TestCase(Block - 1)]
    [TestCase(Block)]
    [TestCase(Block + 1)]
    [TestCase(7 * Block + 12_345)]
    public async Task Output_IsOneCompleteGzipMemberPerBlock_InOrder(int length)
    {
        var data = Data(length);

        var gzip = await CompressAsync(data);

        // Each block compressed on its own by GZipStream, one after the other: exactly what must come out.
        using var expected = new MemoryStream();
        var offset = 0;
        do
        {
            var count = Math.Min(Block, length - offset);
            using (var member = new GZipStream(expected, CompressionLevel.Fastest, leaveOpen: true))
            {
                member.Write(data, offset, count);
            }

            offset += count;
        }
        while (offset < length);

        gzip.Should().Equal(expected.ToArray());
        Decompress(gzip).Should().Equal(data);
    }

    [Test]
    public async Task EmptySource_IsOneEmptyMember_ThatGunzipAndGZipStreamAccept()
    {
        var gzip = await CompressAsync([]);
        var gzipFile = Path.Combine(Workspace.DownloadDirectory, "empty.gz");
        await File.WriteAllBytesAsync(gzipFile, gzip);

        var (exitCode, output, error) = await ExternalTools.RunAsync("bash", ["-o", "pipefail", "-c", $"gunzip -c '{gzipFile}' | wc -c"]);

        gzip.Should().HaveCount(20, "a header, an empty deflate block and a trailer: GZipStream alone would write nothing");
        exitCode.Should().Be(0, error);
        output.Trim().Should().Be("0");
        Decompress(gzip).Should().BeEmpty();
    }

    [TestCase(1, CompressionLevel.Fastest)]
    [TestCase(2, CompressionLevel.Optimal)]
    [TestCase(4, CompressionLevel.SmallestSize)]
    [TestCase(3, CompressionLevel.NoCompression)]
    public async Task EveryLevelAndParallelism_RoundTripsThroughGZipStream(int parallelism, CompressionLevel level)
    {
        var data = Data(20 * Block + 99, seed: parallelism);

        var gzip = await CompressAsync(data, Block, parallelism, level);

        Decompress(gzip).Should().Equal(data);
    }

    [Test]
    public async Task Gunzip_ReadsEveryMemberBackByteForByte()
    {
        var data = Data(9 * Block + 5);
        var gzipFile = Path.Combine(Workspace.DownloadDirectory, "members.gz");
        await File.WriteAllBytesAsync(gzipFile, await CompressAsync(data));

        var (testCode, _, testError) = await ExternalTools.RunAsync("gzip", ["--test", "--verbose", gzipFile]);
        testCode.Should().Be(0, testError);

        var (exitCode, output, error) = await ExternalTools.RunAsync(
            "bash", ["-c", $"gunzip -c '{gzipFile}' > '{gzipFile}.out' && sha256sum '{gzipFile}.out'"]);

        exitCode.Should().Be(0, error);
        output.Should().StartWith(Convert.ToHexStringLower(SHA256.HashData(data)));
        (await File.ReadAllBytesAsync(gzipFile + ".out")).Should().Equal(data);
    }

    [Test]
    [Category("Slow")]
    public async Task PowerShell_ExpandsEveryMemberWithGZipStream()
    {
        var data = Data(9 * Block + 5);
        var gzipFile = Path.Combine(Workspace.DownloadDirectory, "members.db.gz");
        await File.WriteAllBytesAsync(gzipFile, await CompressAsync(data));
        var pwsh = await ExternalTools.PwshAsync();

        var (exitCode, _, error) = await ExternalTools.RunAsync(pwsh, ["-NoProfile", "-NonInteractive", "-Command", PowerShellExpand(gzipFile)]);

        exitCode.Should().Be(0, error);
        (await File.ReadAllBytesAsync(gzipFile[..^3])).Should().Equal(data);
    }

    /// <summary>The unpacking command of docs/operators.md ("A gzip backup is unpacked first"), for one file.</summary>
    public static string PowerShellExpand(string gzipFile)
    {
        var guide = File.ReadAllText(Path.Combine(ExternalTools.RepositoryRoot, "docs", "operators.md"));
        var start = guide.IndexOf("$gz = ", StringComparison.Ordinal);
        start.Should().BePositive("docs/operators.md shows how to unpack a gzip backup in PowerShell");
        var command = guide[start..guide.IndexOf("\n```", start, StringComparison.Ordinal)];
        return command.Replace("'corescope-backup-1767225600.db.gz'", "'" + gzipFile.Replace("'", "''", StringComparison.Ordinal) + "'", StringComparison.Ordinal);
    }

    [Test]
    public async Task ASlowReader_HoldsBackTheSource_AtMostTheBlocksInFlightAhead()
    {
        var sourceFile = Path.Combine(Workspace.Root, "source.bin");
        await File.WriteAllBytesAsync(sourceFile, Data(64 * Block));
        await using var source = new FileStream(sourceFile, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.Asynchronous);

        // A client that reads nothing: the pipe takes the first member and no more, as a full socket would.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1));
        using var stop = new CancellationTokenSource();
        var compress = ParallelGzip.CompressAsync(source, pipe.Writer.AsStream(), CompressionLevel.Fastest, Block, parallelism: 2, stop.Token);

        long position;
        do
        {
            position = source.Position;
            await Task.Delay(200);
        }
        while (source.Position != position && !compress.IsCompleted);

        compress.IsCompleted.Should().BeFalse("the destination takes no more bytes");
        source.Position.Should().BeLessThanOrEqualTo((2 * 2 + 1) * (long)Block,
            "two blocks per worker are in flight, plus the one being read; the rest of the source waits");

        // A client that goes away: the copy ends at once, and the workers' buffers go back to the pool.
        await stop.CancelAsync();
        var cancelled = () => compress;
        await cancelled.Should().ThrowAsync<OperationCanceledException>();
    }

    [Test]
    public async Task ASlowReader_GetsEverythingInTheEnd()
    {
        var data = Data(40 * Block + 3);
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 16 * 1024, resumeWriterThreshold: 8 * 1024));
        var compress = Task.Run(async () =>
        {
            await ParallelGzip.CompressAsync(new MemoryStream(data), pipe.Writer.AsStream(), CompressionLevel.Fastest, Block, 2, CancellationToken.None);
            await pipe.Writer.CompleteAsync();
        });

        using var received = new MemoryStream();
        await using (var reader = pipe.Reader.AsStream())
        {
            var buffer = new byte[3000];
            int read;
            while ((read = await reader.ReadAsync(buffer)) > 0)
            {
                received.Write(buffer, 0, read);
                await Task.Yield();
            }
        }

        await compress;
        Decompress(received.ToArray()).Should().Equal(data);
    }
}
