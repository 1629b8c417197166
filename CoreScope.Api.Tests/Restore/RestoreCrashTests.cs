using System.Net.Http.Headers;

namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// docs/restore.md, "Crash safety": the real server killed with SIGKILL during the upload, the checks, the copy into
/// the live file and right after its commit. On the next start the database passes integrity_check and holds the old
/// content or the new, whole, never a mix, and the staging files are gone.
/// </summary>
[Category("Slow")]
[NonParallelizable]
public sealed class RestoreCrashTests : WorkspaceTests
{
    private static string _fixtures = null!;
    private static string OldDatabase => Path.Combine(_fixtures, "old.db");
    private static string NewDatabase => Path.Combine(_fixtures, "new.db");

    private SortedDictionary<string, List<string>> _old = null!;
    private SortedDictionary<string, List<string>> _new = null!;

    [OneTimeSetUp]
    public static async Task MakeDatabases()
    {
        // About 120 MB, so the checks and the copy take long enough to be caught in the act on this machine.
        _fixtures = Path.Combine(Path.GetTempPath(), "corescope-tests", "restore-crash-" + Guid.NewGuid().ToString("N"));
        var path = Path.Combine(_fixtures, "base.db");
        await TestDatabase.CreateAsync(path);
        TestDatabase.Populate(path, transmissions: 40_000, payloadBytes: 1400);
        using (var connection = TestDatabase.Open(path))
        {
            connection.Execute("VACUUM INTO @target", new { target = NewDatabase });
        }

        TestDatabase.Populate(path, transmissions: 500, payloadBytes: 64);
        File.Move(path, OldDatabase);
    }

    [OneTimeTearDown]
    public static void DeleteDatabases() => Directory.Delete(_fixtures, recursive: true);

    [SetUp]
    public void CopyTheOldDatabase()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Workspace.DatabasePath)!);
        File.Copy(OldDatabase, Workspace.DatabasePath);
        _old = DatabaseContent.Read(OldDatabase);
        _new = DatabaseContent.Read(NewDatabase);
        _old["transmissions"].Count.Should().NotBe(_new["transmissions"].Count);
    }

    [Test]
    public async Task KilledDuringTheUpload_NextStartHasTheOldContent_AndNoStagingLeft()
    {
        var bytes = await File.ReadAllBytesAsync(NewDatabase);
        await using (var server = await ServerProcess.StartAsync(Workspace))
        {
            using var client = server.CreateClient();
            var never = new TaskCompletionSource();
            var body = new RestoreFiles.GatedContent(bytes, bytes.Length / 3, never.Task);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            var upload = client.PostAsync("/api/admin/restore", body);
            await server.WaitForLineAsync("staging upload");
            await WaitForStagedBytesAsync();

            await server.KillAsync();
            await FluentActions.Awaiting(() => upload).Should().ThrowAsync<HttpRequestException>();
        }

        await AssertNextStartAsync(_old, expectSafetyCopy: false);
    }

    [Test]
    public async Task KilledDuringTheChecks_NextStartHasTheOldContent()
    {
        await using (var server = await ServerProcess.StartAsync(Workspace))
        {
            using var client = server.CreateClient();
            var restore = RestoreFiles.PostRestoreAsync(client, NewDatabase);
            await server.WaitForLineAsync("checking");

            await server.KillAsync();
            server.HasLogged("applying").Should().BeFalse("the kill came during the checks");
            await FluentActions.Awaiting(() => restore).Should().ThrowAsync<HttpRequestException>();
        }

        await AssertNextStartAsync(_old, expectSafetyCopy: false);
    }

    [Test]
    public async Task KilledDuringTheCopyIntoTheLiveFile_NextStartHasTheOldContent()
    {
        var walPath = Workspace.DatabasePath + "-wal";
        await using (var server = await ServerProcess.StartAsync(Workspace))
        {
            using var client = server.CreateClient();
            var restore = RestoreFiles.PostRestoreAsync(client, NewDatabase);
            await server.WaitForLineAsync("applying");
            var walAtStart = File.Exists(walPath) ? new FileInfo(walPath).Length : 0;

            // The copy writes every page of the new content into the WAL and commits with the last frame: a WAL 16 MB
            // longer than at the start is a copy well under way and not yet committed.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((File.Exists(walPath) ? new FileInfo(walPath).Length : 0) < walAtStart + 16 * 1024 * 1024 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(1);
            }

            await server.KillAsync();
            server.HasLogged("committed").Should().BeFalse("the kill came before the commit");
            await FluentActions.Awaiting(() => restore).Should().ThrowAsync<HttpRequestException>();
        }

        await AssertNextStartAsync(_old, expectSafetyCopy: true);
    }

    [Test]
    public async Task KilledRightAfterTheCommit_NextStartHasTheNewContent()
    {
        await using (var server = await ServerProcess.StartAsync(Workspace))
        {
            using var client = server.CreateClient();
            var restore = RestoreFiles.PostRestoreAsync(client, NewDatabase);
            await server.WaitForLineAsync("committed");

            await server.KillAsync();
            try
            {
                (await restore).Dispose();
            }
            catch (HttpRequestException)
            {
                // The answer was not sent: the kill came first, as intended.
            }
        }

        await AssertNextStartAsync(_new, expectSafetyCopy: true);
    }

    private async Task WaitForStagedBytesAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!Directory.EnumerateFiles(Workspace.BackupTempDirectory, "restore.db", SearchOption.AllDirectories).Any(file => new FileInfo(file).Length > 0))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Nothing was staged.");
            }

            await Task.Delay(10);
        }
    }

    private async Task AssertNextStartAsync(SortedDictionary<string, List<string>> expected, bool expectSafetyCopy)
    {
        Directory.EnumerateDirectories(Workspace.BackupTempDirectory, "corescope-restore-*").Should().NotBeEmpty(
            "a killed server leaves its staging folder, which the next start must sweep");
        await using var server = await ServerProcess.StartAsync(Workspace);

        Workspace.BackupTempEntries().Should().BeEmpty("the next start swept the staging folder");
        TestDatabase.IntegrityCheck(Workspace.DatabasePath).Should().Be("ok");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(expected, options => options.WithStrictOrdering(),
            "the database holds one whole content, never a mix");
        var safetyCopies = Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, "backups");
        if (Directory.Exists(safetyCopies))
        {
            Directory.GetFiles(safetyCopies, "*.partial").Should().BeEmpty();
        }

        if (expectSafetyCopy)
        {
            var manifest = RestoreFiles.SafetyCopies(safetyCopies).Should().ContainSingle().Subject;
            var id = JsonDocument.Parse(await File.ReadAllTextAsync(manifest)).RootElement.GetProperty("id").GetString()!;
            DatabaseContent.Read(RestoreFiles.StoredFile(safetyCopies, id)).Should().BeEquivalentTo(_old, options => options.WithStrictOrdering());
        }

        using var client = server.CreateClient();
        (await client.GetAsync("/api/stats")).EnsureSuccessStatusCode();
    }
}
