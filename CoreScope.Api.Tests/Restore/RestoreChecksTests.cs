using System.Security.Cryptography;
using System.Text;

namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// docs/restore.md, "Checks before anything changes": every bad upload gets its own 4xx and reason, and the live
/// database, the safety-copy folder and the staging folder are as they were.
/// </summary>
public sealed class RestoreChecksTests : WorkspaceTests
{
    private CoreScopeApiFactory _factory = null!;
    private HttpClient _client = null!;
    private string _backup = null!;
    private SortedDictionary<string, List<string>> _before = null!;

    private string SafetyCopyFolder => Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, "backups");

    // The folder itself is the backup store's too, which makes it at start: what matters is that no safety copy is in it.
    private string[] SafetyCopies() =>
        RestoreFiles.SafetyCopies(SafetyCopyFolder);

    [SetUp]
    public async Task StartServer()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 150);
        _factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, new Dictionary<string, string?>
        {
            ["CoreScope:Restore:MaxUploadMB"] = "2",
            ["CoreScope:Restore:MaxDatabaseMB"] = "4",
        });
        _factory.StartKestrel();
        _client = _factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        _backup = await RestoreFiles.DownloadBackupAsync(_client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));

        // Written after the backup: a restore that slipped through would remove these rows.
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 20);
        _before = DatabaseContent.Read(Workspace.DatabasePath);
    }

    [TearDown]
    public async Task StopServer()
    {
        _client?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    [Test]
    public async Task Truncated_Is422()
    {
        var bytes = await File.ReadAllBytesAsync(_backup);
        await AssertRefusedAsync(bytes[..(bytes.Length / 2)], HttpStatusCode.UnprocessableEntity, "truncated");
    }

    [Test]
    public async Task NotSqlite_Is422()
    {
        await AssertRefusedAsync(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("id,amount\n1,12.50\n", 400))),
            HttpStatusCode.UnprocessableEntity, "not a SQLite database");
    }

    [Test]
    public async Task ACorruptPage_Is422()
    {
        var corrupt = RestoreFiles.CorruptPage(_backup, Path.Combine(Workspace.DownloadDirectory, "corrupt.db"));
        var problem = await AssertRefusedAsync(await File.ReadAllBytesAsync(corrupt), HttpStatusCode.UnprocessableEntity, "");
        problem.Should().MatchRegex("integrity_check|damaged");
    }

    [Test]
    public async Task AForeignSchema_Is422()
    {
        var foreign = RestoreFiles.Foreign(Path.Combine(Workspace.DownloadDirectory, "invoices.db"));
        await AssertRefusedAsync(await File.ReadAllBytesAsync(foreign), HttpStatusCode.UnprocessableEntity, "not a CoreScope one");
    }

    [Test]
    public async Task ANewerSchema_Is409()
    {
        var newer = RestoreFiles.Newer(_backup, Path.Combine(Workspace.DownloadDirectory, "newer.db"));
        var problem = await AssertRefusedAsync(await File.ReadAllBytesAsync(newer), HttpStatusCode.Conflict, "newer version");
        problem.Should().Contain("corescope_from_the_future_v9");
    }

    [Test]
    public async Task AGzipBomb_Is413AsSoonAsItUnpacksPastTheCap()
    {
        // 256 MB of zeros is about 250 KB of gzip: under the 2 MB upload cap, far over the 4 MB database cap.
        var bomb = await RestoreFiles.GzipAsync(new byte[256 * 1024 * 1024], System.IO.Compression.CompressionLevel.SmallestSize);
        bomb.Length.Should().BeLessThan(1024 * 1024);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        var problem = await AssertRefusedAsync(bomb, HttpStatusCode.RequestEntityTooLarge, "unpacks to more than 4 MB", "application/gzip");

        problem.Should().Contain("MaxDatabaseMB");
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "unpacking stops at the cap, not after 256 MB");
    }

    [Test]
    public async Task InvalidGzip_Is422()
    {
        var bytes = new byte[] { 0x1f, 0x8b, 0x08, 0x00 }.Concat(RandomNumberGenerator.GetBytes(4000)).ToArray();
        await AssertRefusedAsync(bytes, HttpStatusCode.UnprocessableEntity, "not valid gzip", "application/gzip");
    }

    [Test]
    public async Task AWrongDigest_Is400()
    {
        var wrong = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("something else")));
        await AssertRefusedAsync(await File.ReadAllBytesAsync(_backup), HttpStatusCode.BadRequest, "differs from the digest sent with the request",
            configure: request => request.Headers.Add("X-Backup-SHA256", wrong));
    }

    [Test]
    public async Task AWrongReprDigest_Is400()
    {
        var wrong = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("something else")));
        await AssertRefusedAsync(await File.ReadAllBytesAsync(_backup), HttpStatusCode.BadRequest, "differs from the digest",
            configure: request => request.Headers.TryAddWithoutValidation("Repr-Digest", $"sha-256=:{wrong}:"));
    }

    [Test]
    public async Task AMalformedDigest_Is400()
    {
        await AssertRefusedAsync(await File.ReadAllBytesAsync(_backup), HttpStatusCode.BadRequest, "64 hex digits",
            configure: request => request.Headers.Add("X-Backup-SHA256", "abc"));
    }

    [Test]
    public async Task OverTheSizeCap_Is413()
    {
        var big = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        await AssertRefusedAsync(big, HttpStatusCode.RequestEntityTooLarge, "larger than 2 MB");
    }

    [Test]
    public async Task AnEmptyBody_Is400()
    {
        await AssertRefusedAsync([], HttpStatusCode.BadRequest, "body is empty");
    }

    [Test]
    public async Task AForm_Is400()
    {
        await AssertRefusedAsync(await File.ReadAllBytesAsync(_backup), HttpStatusCode.BadRequest, "not a form", "multipart/form-data; boundary=x");
    }

    private async Task<string> AssertRefusedAsync(
        byte[] body, HttpStatusCode status, string reason, string contentType = "application/octet-stream", Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/admin/restore") { Content = RestoreFiles.Body(body, contentType) };
        configure?.Invoke(request);
        using var response = await _client.SendAsync(request);

        var problem = await RestoreFiles.ReadJsonAsync(response, status);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var error = problem.GetProperty("error").GetString()!;
        if (reason.Length > 0)
        {
            error.Should().Contain(reason);
        }

        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(_before, options => options.WithStrictOrdering(), "a refused restore changes nothing");
        DatabaseContent.HeaderVersionBytes(Workspace.DatabasePath).Should().Be(((byte)2, (byte)2));
        SafetyCopies().Should().BeEmpty("nothing is copied before every check passed");
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
        return error;
    }
}
