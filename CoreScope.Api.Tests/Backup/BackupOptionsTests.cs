using System.IO.Compression;
using System.Security.Cryptography;

namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/backup.md, "Options": <c>compress=gzip</c> and <c>verify=true</c>, alone and together.</summary>
public sealed class BackupOptionsTests : WorkspaceTests
{
    [Test]
    public async Task Backup_WithGzip_StreamsACompressedDatabaseWithGzipNameAndType()
    {
        await CreateDatabaseAsync(transmissions: 2_000, payloadBytes: 64);
        using var client = CreateServer().CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup?compress=gzip");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/gzip");
        response.Content.Headers.GetValues("Content-Disposition").Single().Should().MatchRegex("^attachment; filename=\"corescope-backup-[0-9]+\\.db\\.gz\"$");
        response.Headers.Contains("X-Backup-SHA256").Should().BeFalse("only verify=true computes a digest");
        var body = await response.Content.ReadAsByteArrayAsync();
        body[..2].Should().Equal(0x1F, 0x8B);
        var path = await DecompressAsync(body, "gzip.db");
        new FileInfo(path).Length.Should().BeGreaterThan(body.Length * 2L, "the default level still halves a CoreScope database");
        TestDatabase.IntegrityCheck(path).Should().Be("ok");
        TestDatabase.RowCounts(path)["transmissions"].Should().Be(2_000);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    [TestCase("")]
    [TestCase("&compress=gzip")]
    public async Task Backup_WithVerify_DigestHeadersEqualTheSha256OfTheReceivedBytes(string compress)
    {
        await CreateDatabaseAsync(transmissions: 1_000, payloadBytes: 64);
        using var client = CreateServer().CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup?verify=true" + compress);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.Content.ReadAsByteArrayAsync();
        var sha256 = SHA256.HashData(body);
        response.Headers.GetValues("X-Backup-SHA256").Single().Should().Be(Convert.ToHexString(sha256));
        response.Headers.GetValues("Repr-Digest").Single().Should().Be($"sha-256=:{Convert.ToBase64String(sha256)}:");
        response.Content.Headers.ContentLength.Should().Be(body.Length);
        var path = compress.Length > 0
            ? await DecompressAsync(body, "verified.db")
            : await SaveDownloadAsync(body, "verified.db");
        TestDatabase.IntegrityCheck(path).Should().Be("ok");
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    private async Task<string> DecompressAsync(byte[] body, string name)
    {
        var path = Path.Combine(Workspace.DownloadDirectory, name);
        await using var gzip = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        await using var file = File.Create(path);
        await gzip.CopyToAsync(file);
        return path;
    }
}
