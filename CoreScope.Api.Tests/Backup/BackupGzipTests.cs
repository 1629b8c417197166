using System.IO.Compression;
using System.Security.Cryptography;

namespace CoreScope.Api.Tests.Backup;

/// <summary>
/// docs/backup.md, "gzip on every core": <c>compress=gzip</c> over HTTP is one gzip member per MiB of the snapshot, and
/// what gunzip and GZipStream unpack is the snapshot, byte for byte.
/// </summary>
public sealed class BackupGzipTests : WorkspaceTests
{
    [TestCase("vacuum", false)]
    [TestCase("pages", false)]
    [TestCase("vacuum", true)]
    public async Task Gzip_OfManyBlocks_IsOneMemberPerMegabyte_AndGunzipAndGZipStreamReadItBackByteForByte(string method, bool verify)
    {
        await CreateDatabaseAsync(transmissions: 6_000, payloadBytes: 400);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        using var client = CreateServer().CreateOperatorClient();

        // Nothing writes between the two requests, so the plain download is what the gzip must unpack to.
        var reference = await client.GetByteArrayAsync($"/api/backup?method={method}");
        using var response = await client.GetAsync($"/api/backup?method={method}&compress=gzip&verify={verify.ToString().ToLowerInvariant()}");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.Content.ReadAsByteArrayAsync();
        reference.Length.Should().BeGreaterThan(3 * 1024 * 1024, "the database spans several 1 MiB blocks");
        CountMembers(body).Should().Be((reference.Length + (1 << 20) - 1) >> 20, "one gzip member per started MiB of the snapshot");
        if (verify)
        {
            response.Headers.GetValues("X-Backup-SHA256").Single().Should().Be(Convert.ToHexString(SHA256.HashData(body)));
        }

        await using (var unpacked = new MemoryStream())
        {
            await using (var reader = new GZipStream(new MemoryStream(body), CompressionMode.Decompress))
            {
                await reader.CopyToAsync(unpacked);
            }

            unpacked.ToArray().Should().Equal(reference);
        }

        var gzipFile = await SaveDownloadAsync(body, "backup.db.gz");
        var (exitCode, _, error) = await ExternalTools.RunAsync("bash", ["-c", $"gunzip -c '{gzipFile}' > '{gzipFile}.gunzip'"]);
        exitCode.Should().Be(0, error);
        (await File.ReadAllBytesAsync(gzipFile + ".gunzip")).Should().Equal(reference);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    /// <summary>Members are found by the 10-byte header GZipStream writes at this level, which starts each of them.</summary>
    public static int CountMembers(byte[] gzip)
    {
        using var sample = new MemoryStream();
        using (var member = new GZipStream(sample, CompressionLevel.Fastest, leaveOpen: true))
        {
            member.WriteByte(42);
        }

        var header = sample.ToArray()[..10];
        var count = 0;
        for (var index = gzip.AsSpan().IndexOf(header); index >= 0;)
        {
            count++;
            var next = gzip.AsSpan(index + header.Length).IndexOf(header);
            index = next < 0 ? -1 : index + header.Length + next;
        }

        return count;
    }
}
