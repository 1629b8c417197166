using System.IO.Compression;
using CoreScope.Data.Backup;
using CoreScope.Data.Store;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/backup.md "Stored backups": the store folder, manifests, the catalogue, and its faults.</summary>
public sealed class BackupStoreTests : WorkspaceTests
{
    private string StoreFolder => StoredBackups.DefaultFolder(Workspace.DatabasePath);

    private CoreScopeApiFactory StartServer(Dictionary<string, string?>? settings = null) =>
        new(Workspace, CoreScopeApiFactory.StrongApiKey, settings);

    [Test]
    public async Task Post_StoresTheSnapshotWithAManifest_Returns201WithLocation()
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var response = await client.PostAsync("/api/backups", null);

        response.StatusCode.Should().Be(HttpStatusCode.Created);
        var manifest = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var id = manifest.Id();
        id.Should().MatchRegex("^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}$");
        response.Headers.Location!.AbsolutePath.Should().Be($"/api/backups/{id}");
        manifest.GetProperty("trigger").GetString().Should().Be("manual");
        manifest.GetProperty("method").GetString().Should().Be("vacuum");
        manifest.GetProperty("compressed").GetBoolean().Should().BeFalse();
        manifest.GetProperty("integrity").GetString().Should().Be("ok");
        manifest.GetProperty("status").GetString().Should().Be("ok");
        manifest.GetProperty("createdAt").GetString().Should().EndWith("Z");
        manifest.GetProperty("durationMs").GetInt64().Should().BeGreaterThanOrEqualTo(0);
        manifest.GetProperty("serverVersion").GetString().Should().NotBeNullOrEmpty();
        manifest.GetProperty("schemaSteps").EnumerateArray().Select(step => step.GetString()).Should().NotBeEmpty();
        manifest.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(300);
        manifest.GetProperty("rows").GetProperty("observations").GetInt64().Should().Be(600);
        manifest.GetProperty("rows").GetProperty("nodes").GetInt64().Should().Be(10);

        var file = Path.Combine(StoreFolder, $"corescope-backup-{id}.db");
        Directory.GetFiles(StoreFolder).Select(Path.GetFileName)
            .Should().BeEquivalentTo($"corescope-backup-{id}.db", $"corescope-backup-{id}.json");
        manifest.GetProperty("sizeBytes").GetInt64().Should().Be(new FileInfo(file).Length);
        manifest.Sha256().Should().Be(StoredBackups.HashFile(file));
        TestDatabase.IntegrityCheck(file).Should().Be("ok");
        TestDatabase.RowCounts(file)["transmissions"].Should().Be(300);

        var onDisk = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(StoreFolder, $"corescope-backup-{id}.json"))).RootElement;
        onDisk.Sha256().Should().Be(manifest.Sha256());
        Workspace.BackupTempEntries().Should().BeEmpty("a stored backup is written in the store folder, not staged and copied");
    }

    [Test]
    public async Task Post_GzipAndPages_StoresACompressedPageCopy()
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var manifest = await StoredBackups.StoreAsync(client, "?compress=gzip&method=pages");

        manifest.GetProperty("compressed").GetBoolean().Should().BeTrue();
        manifest.GetProperty("method").GetString().Should().Be("pages");
        var file = Path.Combine(StoreFolder, $"corescope-backup-{manifest.Id()}.db.gz");
        manifest.GetProperty("fileName").GetString().Should().Be(Path.GetFileName(file));
        manifest.Sha256().Should().Be(StoredBackups.HashFile(file));
        var unpacked = Path.Combine(Workspace.DownloadDirectory, "unpacked.db");
        await using (var gzip = new GZipStream(File.OpenRead(file), CompressionMode.Decompress))
        await using (var target = File.Create(unpacked))
        {
            await gzip.CopyToAsync(target);
        }

        TestDatabase.RowCounts(unpacked)["transmissions"].Should().Be(300);
        Directory.GetFiles(StoreFolder).Should().HaveCount(2, "the uncompressed copy is gone");
    }

    [TestCase(null, "quick")]
    [TestCase("Full", "full")]
    [TestCase("None", null)]
    public async Task IntegrityCheckSetting_ChoosesTheCheck_AndTheManifestSaysWhich(string? setting, string? check)
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer(setting is null ? null : new() { ["CoreScope:Backup:Store:IntegrityCheck"] = setting });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var manifest = await StoredBackups.StoreAsync(client);

        var integrityCheck = manifest.GetProperty("integrityCheck");
        var integrity = manifest.GetProperty("integrity");
        if (check is null)
        {
            integrityCheck.ValueKind.Should().Be(JsonValueKind.Null);
            integrity.ValueKind.Should().Be(JsonValueKind.Null);
        }
        else
        {
            integrityCheck.GetString().Should().Be(check);
            integrity.GetString().Should().Be("ok");
        }
    }

    [TestCase("?compress=zip", "compress")]
    [TestCase("?method=copy", "method")]
    public async Task Post_WithUnknownOption_Returns400AndStoresNothing(string query, string reason)
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var response = await client.PostAsync("/api/backups" + query, null);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await ProblemResponses.ErrorMemberAsync(response)).Should().Contain(reason);
        Directory.GetFiles(StoreFolder).Should().BeEmpty();
    }

    [Test]
    public async Task List_IsNewestFirst_GetReturnsTheManifest_DeleteRemovesBothFiles()
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            stored.Add((await StoredBackups.StoreAsync(client)).Id());
        }

        (await StoredBackups.IdsAsync(client)).Should().Equal(stored.AsEnumerable().Reverse());
        var one = JsonDocument.Parse(await client.GetStringAsync($"/api/backups/{stored[1]}")).RootElement;
        one.Id().Should().Be(stored[1]);

        using var deleted = await client.DeleteAsync($"/api/backups/{stored[1]}");

        deleted.StatusCode.Should().Be(HttpStatusCode.NoContent);
        (await client.GetAsync($"/api/backups/{stored[1]}")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await StoredBackups.IdsAsync(client)).Should().Equal(stored[2], stored[0]);
        Directory.GetFiles(StoreFolder).Should().HaveCount(4).And.NotContain(file => file.Contains(stored[1], StringComparison.Ordinal));
    }

    [TestCase("nope")]
    [TestCase("20260101T000000Z-abcdef")]
    [TestCase("..")]
    [TestCase("..%2F..%2Fdb%2Fcorescope.db")]
    [TestCase("%2E%2E%2F%2E%2E%2Fdb%2Fcorescope.db")]
    [TestCase("..%5C..%5Cdb%5Ccorescope.db")]
    [TestCase("corescope-backup-x.json")]
    public async Task UnknownId_OrTraversal_Is404OnEveryRoute_AndTouchesNothing(string id)
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var kept = await StoredBackups.StoreAsync(client);
        var databaseHash = StoredBackups.HashFile(Workspace.DatabasePath);

        HttpRequestMessage[] requests =
        [
            new(HttpMethod.Get, $"/api/backups/{id}"),
            new(HttpMethod.Get, $"/api/backups/{id}/file"),
            new(HttpMethod.Delete, $"/api/backups/{id}"),
            new(HttpMethod.Post, $"/api/backups/{id}/link"),
        ];
        foreach (var request in requests)
        {
            using var response = await client.SendAsync(request);
            response.StatusCode.Should().Be(HttpStatusCode.NotFound, $"{request.Method} {request.RequestUri}");
            response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        }

        (await StoredBackups.IdsAsync(client)).Should().Equal(kept.Id());
        StoredBackups.HashFile(Workspace.DatabasePath).Should().Be(databaseHash);
    }

    [Test]
    public async Task Start_SweepsHalfWrittenFiles_AndListsDamagedEntriesWithoutServingThem()
    {
        await CreateDatabaseAsync(300);
        List<string> ids = [];
        await using (var factory = StartServer())
        {
            using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
            for (var i = 0; i < 3; i++)
            {
                ids.Add((await StoredBackups.StoreAsync(client)).Id());
            }
        }

        var (good, noFile, noManifest) = (ids[0], ids[1], ids[2]);
        File.Delete(Path.Combine(StoreFolder, $"corescope-backup-{noFile}.db"));
        File.Delete(Path.Combine(StoreFolder, $"corescope-backup-{noManifest}.json"));
        const string unreadable = "20250101T000000Z-0000aa";
        await File.WriteAllTextAsync(Path.Combine(StoreFolder, $"corescope-backup-{unreadable}.json"), "{ \"id\": ");
        var leftovers = new[] { "corescope-backup-20250102T000000Z-0000bb.db.partial", "corescope-backup-20250102T000000Z-0000bb.json.partial" };
        foreach (var leftover in leftovers)
        {
            await File.WriteAllTextAsync(Path.Combine(StoreFolder, leftover), "half");
        }

        await File.WriteAllTextAsync(Path.Combine(StoreFolder, "operator-notes.txt"), "mine");

        await using (var factory = StartServer())
        {
            using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
            var backups = (await StoredBackups.ListAsync(client)).GetProperty("backups").EnumerateArray()
                .ToDictionary(backup => backup.Id(), backup => backup.GetProperty("status").GetString());

            backups.Should().BeEquivalentTo(new Dictionary<string, string?>
            {
                [good] = StoredBackupStatus.Ok,
                [noFile] = StoredBackupStatus.MissingFile,
                [noManifest] = StoredBackupStatus.MissingManifest,
                [unreadable] = StoredBackupStatus.UnreadableManifest,
            });
            foreach (var damaged in new[] { noFile, noManifest, unreadable })
            {
                using var refused = await client.GetAsync($"/api/backups/{damaged}/file");
                refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
                (await ProblemResponses.ErrorMemberAsync(refused)).Should().Contain("damaged");
            }

            (await client.GetAsync($"/api/backups/{good}/file")).StatusCode.Should().Be(HttpStatusCode.OK);
            (await client.DeleteAsync($"/api/backups/{noManifest}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
            File.Exists(Path.Combine(StoreFolder, $"corescope-backup-{noManifest}.db")).Should().BeFalse();
            factory.Logs.Lines.Should().Contain(line => line.Message.Contains("left half-written", StringComparison.Ordinal));
        }

        leftovers.Should().AllSatisfy(leftover => File.Exists(Path.Combine(StoreFolder, leftover)).Should().BeFalse());
        File.Exists(Path.Combine(StoreFolder, "operator-notes.txt")).Should().BeTrue("only the store's own names are swept");
    }

    [Test]
    public async Task StoredFileChangedOnDisk_IsRefusedWith409_AndListedAsModified()
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        (await client.GetAsync($"/api/backups/{manifest.Id()}/file")).StatusCode.Should().Be(HttpStatusCode.OK);

        // One byte in the middle, the size unchanged: only the SHA-256 can tell.
        var file = Path.Combine(StoreFolder, $"corescope-backup-{manifest.Id()}.db");
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            var original = stream.ReadByte();
            stream.Position--;
            stream.WriteByte((byte)(original ^ 0xFF));
        }

        using var refused = await client.GetAsync($"/api/backups/{manifest.Id()}/file");

        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
        (await ProblemResponses.ErrorMemberAsync(refused)).Should().Contain("changed on disk").And.Contain(manifest.Sha256());
        var listed = (await StoredBackups.ListAsync(client)).GetProperty("backups")[0];
        listed.GetProperty("status").GetString().Should().Be(StoredBackupStatus.Modified);
        factory.Logs.Lines.Should().Contain(line => line.Message.Contains("was changed on disk", StringComparison.Ordinal));
    }

    [Test]
    public async Task Post_WhileADownloadSnapshotHoldsTheOnePlace_Returns429WithRetryAfter()
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var backupService = factory.Services.GetRequiredService<BackupService>();

        await using (await backupService.CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None))
        {
            using var busy = await client.PostAsync("/api/backups", null);

            busy.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
            busy.Headers.RetryAfter!.Delta.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1));
        }

        Directory.GetFiles(StoreFolder).Should().BeEmpty();
        await StoredBackups.StoreAsync(client);
    }

    [Test]
    public async Task Post_WithTooLittleSpace_Returns507NamingTheStoreSetting_AndTheFailureIsListed()
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer(new() { ["CoreScope:Backup:FreeSpaceMarginMB"] = "1000000" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var refused = await client.PostAsync("/api/backups", null);

        refused.StatusCode.Should().Be(HttpStatusCode.InsufficientStorage);
        (await ProblemResponses.ErrorMemberAsync(refused)).Should().Contain("backup store").And.Contain("CoreScope:Backup:Store:Directory");
        Directory.GetFiles(StoreFolder).Should().BeEmpty();
        var lastFailure = (await StoredBackups.ListAsync(client)).GetProperty("lastFailure");
        lastFailure.GetProperty("trigger").GetString().Should().Be("manual");
        lastFailure.GetProperty("error").GetString().Should().Contain("Not enough free space");
    }

    [Test]
    public async Task DiskFillsWhileStoring_PartialIsRemoved_FailureLoggedAndListed_OtherBackupsUntouched()
    {
        if (!OperatingSystem.IsLinux() || Environment.UserName != "root")
        {
            Assert.Ignore("Mounting a small tmpfs needs root on Linux; CI runs as root. Skipped here for that reason.");
        }

        // 48 MB of incompressible rows: VACUUM INTO takes long enough to fill the disk while it writes.
        await CreateDatabaseAsync(transmissions: 10);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("""
                CREATE TABLE ballast (bytes BLOB);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 48) INSERT INTO ballast SELECT randomblob(1048576) FROM n;
                """);
        }

        Directory.CreateDirectory(StoreFolder);
        Run("mount", $"-t tmpfs -o size=160m tmpfs {StoreFolder}");
        try
        {
            await using var factory = StartServer(new() { ["CoreScope:Backup:FreeSpaceMarginMB"] = "1" });
            using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
            var first = await StoredBackups.StoreAsync(client);
            var firstFiles = Directory.GetFiles(StoreFolder).ToDictionary(file => file, StoredBackups.HashFile);

            // Another program fills the disk as soon as the second backup's partial file appears.
            var filler = Path.Combine(StoreFolder, "other-program.bin");
            var filling = Task.Factory.StartNew(() =>
            {
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (!Directory.EnumerateFiles(StoreFolder, "*.partial").Any())
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        return;
                    }
                }

                using var stream = new FileStream(filler, FileMode.CreateNew);
                var block = new byte[1024 * 1024];
                try
                {
                    while (true)
                    {
                        stream.Write(block);
                    }
                }
                catch (IOException)
                {
                    // The disk is full: what the other program meant to do.
                }
            }, TaskCreationOptions.LongRunning);

            using var failed = await client.PostAsync("/api/backups", null);
            await filling;

            failed.StatusCode.Should().Be(HttpStatusCode.InsufficientStorage);
            (await ProblemResponses.ErrorMemberAsync(failed)).Should().Contain("filled up").And.Contain("CoreScope:Backup:Store:Directory");
            File.Delete(filler);
            Directory.GetFiles(StoreFolder).ToDictionary(file => file, StoredBackups.HashFile)
                .Should().BeEquivalentTo(firstFiles, "the partial file is removed and the first backup is untouched");
            var list = await StoredBackups.ListAsync(client);
            list.GetProperty("backups").EnumerateArray().Select(backup => backup.Id()).Should().Equal(first.Id());
            list.GetProperty("lastFailure").GetProperty("error").GetString().Should().Contain("filled up");
            factory.Logs.Lines.Should().Contain(line => line.Message.StartsWith("Storing a backup (manual) failed", StringComparison.Ordinal));
            (await client.GetAsync($"/api/backups/{first.Id()}/file")).StatusCode.Should().Be(HttpStatusCode.OK);
        }
        finally
        {
            Run("umount", StoreFolder);
        }
    }

    private static void Run(string program, string arguments)
    {
        using var process = System.Diagnostics.Process.Start(program, arguments);
        process.WaitForExit();
        process.ExitCode.Should().Be(0, $"{program} {arguments}");
    }

    [Test]
    public async Task StoreDirectorySetting_IsWhereBackupsGo()
    {
        await CreateDatabaseAsync(300);
        var folder = Path.Combine(Workspace.Root, "elsewhere", "backups");
        await using var factory = StartServer(new() { ["CoreScope:Backup:Store:Directory"] = folder });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var manifest = await StoredBackups.StoreAsync(client);

        File.Exists(Path.Combine(folder, $"corescope-backup-{manifest.Id()}.db")).Should().BeTrue();
        Directory.Exists(StoreFolder).Should().BeFalse();
    }

    [Test]
    public async Task Endpoints_WithoutTheKey_Return401()
    {
        await CreateDatabaseAsync(300);
        await using var factory = StartServer();
        using var client = factory.CreateClient(key: null);

        (await client.PostAsync("/api/backups", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.GetAsync("/api/backups")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        Directory.GetFiles(StoreFolder).Should().BeEmpty();
    }
}
