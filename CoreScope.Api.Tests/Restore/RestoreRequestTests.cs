using System.Net.Http.Json;
using System.Security.Cryptography;

namespace CoreScope.Api.Tests.Restore;

/// <summary>docs/restore.md, "What happens on a request": the round trip, the safety copy that undoes it, the dry run.</summary>
public sealed class RestoreRequestTests : WorkspaceTests
{
    private string SafetyCopyFolder => Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, "backups");

    // The folder itself is the backup store's too, which makes it at start: what matters is that no safety copy is in it.
    private string[] SafetyCopies() =>
        RestoreFiles.SafetyCopies(SafetyCopyFolder);

    private async Task<(CoreScopeApiFactory Factory, HttpClient Client)> StartAsync(int transmissions = 200, IReadOnlyDictionary<string, string?>? settings = null)
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions);
        var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, settings);
        return (factory, factory.CreateClient(CoreScopeApiFactory.StrongApiKey));
    }

    [Test]
    public async Task Restore_AfterMoreIngest_EveryTableEqualsTheBackup_AndTheLaterRowsAreOnlyInTheSafetyCopy()
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        var backedUp = DatabaseContent.Read(backup);

        // More ingest after the backup: through the API and from another connection.
        (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert })).EnsureSuccessStatusCode();
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 30);
        var beforeRestore = DatabaseContent.Read(Workspace.DatabasePath);
        beforeRestore["transmissions"].Should().HaveCount(231);

        using var response = await RestoreFiles.PostRestoreAsync(client, backup);

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("dryRun").GetBoolean().Should().BeFalse();
        answer.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(200);
        answer.GetProperty("rows").GetProperty("observations").GetInt64().Should().Be(400);
        answer.GetProperty("schemaStepsApplied").GetArrayLength().Should().Be(0);
        answer.GetProperty("sha256").GetString().Should().Be(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(backup))));
        answer.GetProperty("integrity").GetString().Should().Be("ok");
        answer.GetProperty("appliedBy").GetString().Should().Be("backup-api");
        answer.GetProperty("durationMs").GetInt64().Should().BePositive();

        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(backedUp, options => options.WithStrictOrdering());
        TestDatabase.IntegrityCheck(Workspace.DatabasePath).Should().Be("ok");
        DatabaseContent.HeaderVersionBytes(Workspace.DatabasePath).Should().Be(((byte)2, (byte)2), "the live database stays in WAL mode");

        var safetyCopyId = answer.GetProperty("preRestoreBackupId").GetString()!;
        var safetyCopy = RestoreFiles.StoredFile(SafetyCopyFolder, safetyCopyId);
        DatabaseContent.Read(safetyCopy).Should().BeEquivalentTo(beforeRestore, options => options.WithStrictOrdering(),
            "the rows written after the backup are gone from the live database but kept in the pre-restore copy");
        using var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(RestoreFiles.StoredManifest(SafetyCopyFolder, safetyCopyId)));
        var root = manifest.RootElement;
        root.GetProperty("id").GetString().Should().Be(safetyCopyId);
        root.GetProperty("trigger").GetString().Should().Be("pre-restore");
        root.GetProperty("compressed").GetBoolean().Should().BeFalse();
        root.GetProperty("sizeBytes").GetInt64().Should().Be(new FileInfo(safetyCopy).Length);
        root.GetProperty("sha256").GetString().Should().Be(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(safetyCopy))));
        root.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(231);
        root.GetProperty("schemaSteps").GetArrayLength().Should().Be(6);
        root.GetProperty("createdAt").GetDateTimeOffset().Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
        foreach (var field in new[] { "method", "durationMs", "serverVersion", "integrity" })
        {
            root.TryGetProperty(field, out var __).Should().BeTrue(field + " is in the manifest");
        }

        Workspace.BackupTempEntries().Should().BeEmpty("the staging copy is deleted after the restore");

        // Seen from monitoring: one restore, and its safety copy as a backup with trigger pre-restore.
        var metrics = await client.GetStringAsync("/metrics");
        Diagnostics.MetricsTests.Sample(metrics, "corescope_restores_total", "outcome=\"success\"").Should().Be(1);
        Diagnostics.MetricsTests.Sample(metrics, "corescope_restores_total", "outcome=\"failure\"").Should().Be(0);
        Diagnostics.MetricsTests.Sample(metrics, "corescope_backups_total", "trigger=\"pre-restore\"", "outcome=\"success\"").Should().Be(1);
    }

    [Test]
    public async Task RestoreFrom_TheSafetyCopy_UndoesTheRestore()
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 25);
        var beforeRestore = DatabaseContent.Read(Workspace.DatabasePath);
        using var restore = await RestoreFiles.PostRestoreAsync(client, backup);
        var safetyCopyId = (await RestoreFiles.ReadJsonAsync(restore, HttpStatusCode.OK)).GetProperty("preRestoreBackupId").GetString();

        using var undo = await client.PostAsync($"/api/admin/restore?from={safetyCopyId}", null);

        var answer = await RestoreFiles.ReadJsonAsync(undo, HttpStatusCode.OK);
        answer.GetProperty("source").GetString().Should().Be(safetyCopyId);
        answer.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(225);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(beforeRestore, options => options.WithStrictOrdering());
        RestoreFiles.SafetyCopies(SafetyCopyFolder).Should().HaveCount(2, "the undo stored a safety copy of its own");
    }

    [Test]
    public async Task RestoreFrom_AStoredBackup_BringsItsContentBack()
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        using var stored = await client.PostAsync("/api/backups", null);
        var storedId = (await RestoreFiles.ReadJsonAsync(stored, HttpStatusCode.Created)).GetProperty("id").GetString();
        var atBackup = DatabaseContent.Read(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 25);

        using var restore = await client.PostAsync($"/api/admin/restore?from={storedId}", null);

        var answer = await RestoreFiles.ReadJsonAsync(restore, HttpStatusCode.OK);
        answer.GetProperty("source").GetString().Should().Be(storedId);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(atBackup, options => options.WithStrictOrdering());
    }

    [TestCase("no-such-backup")]
    [TestCase("..%2F..%2Fdb%2Fcorescope")]
    [TestCase("%2Fetc%2Fpasswd")]
    public async Task RestoreFrom_AnUnknownId_Is404AndChangesNothing(string id)
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        using var response = await client.PostAsync($"/api/admin/restore?from={id}", null);

        var problem = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.NotFound);
        problem.GetProperty("error").GetString().Should().Contain("No stored backup");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    [Test]
    public async Task DryRun_RunsEveryCheck_AndChangesNothing()
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 10);
        var before = DatabaseContent.Read(Workspace.DatabasePath);
        var newer = RestoreFiles.Newer(backup, Path.Combine(Workspace.DownloadDirectory, "newer.db"));

        using var response = await RestoreFiles.PostRestoreAsync(client, backup, "?dryRun=true");
        using var refused = await RestoreFiles.PostRestoreAsync(client, newer, "?dryRun=true");

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("dryRun").GetBoolean().Should().BeTrue();
        answer.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(200, "the answer says what would be restored");
        answer.GetProperty("preRestoreBackupId").ValueKind.Should().Be(JsonValueKind.Null);
        (await RestoreFiles.ReadJsonAsync(refused, HttpStatusCode.Conflict)).GetProperty("error").GetString().Should().Contain("newer version");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
        SafetyCopies().Should().BeEmpty("a dry run stores no safety copy");
        Workspace.BackupTempEntries().Should().BeEmpty();
    }

    [Test]
    public async Task Restore_OfAGzipBackupWithItsDigest_IsUnpackedAndChecked()
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        using var download = await client.GetAsync("/api/backup?compress=gzip&verify=true");
        download.EnsureSuccessStatusCode();
        var gzipFile = Path.Combine(Workspace.DownloadDirectory, "backup.db.gz");
        await File.WriteAllBytesAsync(gzipFile, await download.Content.ReadAsByteArrayAsync());
        var reprDigest = download.Headers.GetValues("Repr-Digest").Single();
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 10);

        using var response = await RestoreFiles.PostRestoreAsync(client, gzipFile, configure: request => request.Headers.Add("Repr-Digest", reprDigest));

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("gzip").GetBoolean().Should().BeTrue();
        answer.GetProperty("receivedBytes").GetInt64().Should().Be(new FileInfo(gzipFile).Length);
        answer.GetProperty("sha256").GetString().Should().Be(download.Headers.GetValues("X-Backup-SHA256").Single().ToLowerInvariant());
        DatabaseContent.Count(Workspace.DatabasePath, "SELECT COUNT(*) FROM transmissions").Should().Be(200);
    }

    [Test]
    public async Task Restore_OfAnotherPageSize_IsRebuiltToTheLivePageSize()
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        var expected = DatabaseContent.Read(backup);
        var otherPageSize = RestoreFiles.WithPageSize(backup, Path.Combine(Workspace.DownloadDirectory, "8k.db"), 8192);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 10);

        using var response = await RestoreFiles.PostRestoreAsync(client, otherPageSize);

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("pageSizeRebuiltFrom").GetInt32().Should().Be(8192);
        DatabaseContent.Count(Workspace.DatabasePath, "PRAGMA page_size").Should().Be(4096);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(expected, options => options.WithStrictOrdering());
        DatabaseContent.HeaderVersionBytes(Workspace.DatabasePath).Should().Be(((byte)2, (byte)2));
    }

    [Test]
    public async Task Restore_OfTheOriginalsDatabase_BringsItToTheCurrentSchemaBeforeItGoesLive()
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        var original = Path.Combine(AppContext.BaseDirectory, "Fixtures", "corescope-e2e-fixture.db");
        var originalRows = TestDatabase.RowCounts(original);

        using var response = await RestoreFiles.PostRestoreAsync(client, original);

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("schemaStepsApplied").EnumerateArray().Select(step => step.GetString()).Should().Equal(
            "corescope_nodes_v1", "corescope_observers_v1", "corescope_transmissions_v1", "corescope_observations_v1",
            "corescope_metrics_and_drops_v1", "corescope_packets_view_v1");
        var live = TestDatabase.RowCounts(Workspace.DatabasePath);
        live["transmissions"].Should().Be(originalRows["transmissions"]);
        live["observations"].Should().Be(originalRows["observations"]);
        live["_migrations"].Should().Be(6);
        TestDatabase.SchemaObjects(Workspace.DatabasePath).Should().Contain("view packets_v");
        (await client.GetAsync("/api/packets?limit=5")).StatusCode.Should().Be(HttpStatusCode.OK, "the server reads the restored database at once");
    }

    [Test]
    public async Task Restore_StartsThePerfCountersAgain()
    {
        var (factory, client) = await StartAsync();
        await using var _ = factory;
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        for (var index = 0; index < 5; index++)
        {
            (await client.GetAsync("/api/packets")).EnsureSuccessStatusCode();
        }

        using var before = JsonDocument.Parse(await client.GetStringAsync("/api/perf"));
        before.RootElement.GetProperty("endpoints").TryGetProperty("/api/packets", out var __).Should().BeTrue();
        using var restore = await RestoreFiles.PostRestoreAsync(client, backup);
        restore.EnsureSuccessStatusCode();

        using var after = JsonDocument.Parse(await client.GetStringAsync("/api/perf"));
        after.RootElement.GetProperty("endpoints").TryGetProperty("/api/packets", out var ___).Should().BeFalse("the timings before the restore are gone");
        after.RootElement.GetProperty("totalRequests").GetInt64().Should().BeLessThan(before.RootElement.GetProperty("totalRequests").GetInt64());
    }

    [Test]
    public async Task Restore_WithoutTheKey_Is401AndReadsNothing()
    {
        var (factory, _) = await StartAsync();
        await using var __ = factory;
        using var anonymous = factory.CreateClient(key: null);
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        using var response = await anonymous.PostAsync("/api/admin/restore", RestoreFiles.Body(new byte[4096]));

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }
}
