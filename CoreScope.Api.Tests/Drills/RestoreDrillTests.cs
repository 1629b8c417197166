using System.Text.Json.Nodes;
using CoreScope.Api.Tests.Backup;
using CoreScope.Api.Tests.Diagnostics;
using CoreScope.Data.Backup;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Drills;

/// <summary>docs/backup.md "Restore drills": POST /api/backups/{id}/drill, its verdict in the manifest, health, metrics and the webhook.</summary>
public sealed class RestoreDrillTests : WorkspaceTests
{
    [SetUp]
    public Task CreateDatabase() => CreateDatabaseAsync(transmissions: 120);

    private static async Task<JsonElement> DrillAsync(HttpClient client, string id)
    {
        using var response = await client.PostAsync($"/api/backups/{id}/drill", null);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static string StoredFile(CoreScopeApiFactory server, JsonElement manifest) =>
        Path.Combine(StoredBackups.DefaultFolder(server.Workspace.DatabasePath), manifest.GetProperty("fileName").GetString()!);

    private static string ManifestFile(CoreScopeApiFactory server, string id) =>
        Path.Combine(StoredBackups.DefaultFolder(server.Workspace.DatabasePath), $"corescope-backup-{id}.json");

    // One byte in the middle of the file, the size unchanged: only the SHA-256 can tell.
    private static void FlipAByte(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = stream.Length / 2;
        var value = stream.ReadByte();
        stream.Position = stream.Length / 2;
        stream.WriteByte((byte)(value ^ 0xFF));
    }

    [Test]
    public async Task Drill_OfAGoodBackup_Passes_AndTheManifestOnDiskHealthAndMetricsSaySo()
    {
        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = await StoredBackups.StoreAsync(client);

        var manifest = await DrillAsync(client, stored.Id());

        var drill = manifest.GetProperty("drill");
        drill.GetProperty("outcome").GetString().Should().Be("passed");
        drill.GetProperty("problems").GetArrayLength().Should().Be(0);
        drill.GetProperty("durationMs").GetInt64().Should().BeGreaterThanOrEqualTo(0);
        drill.GetProperty("at").GetDateTime().Should().BeCloseTo(DateTime.UtcNow, TimeSpan.FromMinutes(1));
        manifest.GetProperty("sha256").GetString().Should().Be(stored.Sha256(), "the answer is the same manifest, with its drill");

        var onDisk = JsonNode.Parse(await File.ReadAllTextAsync(ManifestFile(server, stored.Id())))!;
        onDisk["drill"]!["outcome"]!.GetValue<string>().Should().Be("passed");
        Directory.GetFiles(StoredBackups.DefaultFolder(Workspace.DatabasePath), "*.partial").Should().BeEmpty();
        var listed = (await StoredBackups.ListAsync(client)).GetProperty("backups")[0];
        listed.GetProperty("drill").GetProperty("outcome").GetString().Should().Be("passed");

        var health = JsonDocument.Parse(await client.GetStringAsync("/api/health")).RootElement.GetProperty("backup");
        health.GetProperty("lastDrillOutcome").GetString().Should().Be("passed");
        health.GetProperty("lastDrillAt").GetString().Should().NotBeNullOrEmpty();
        await Eventually.TrueAsync(async () =>
            MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_drills_total", "outcome=\"passed\"") == 1, "one passed drill in /metrics");
        Workspace.BackupTempEntries().Should().BeEmpty("the drill's staging folder is removed");
    }

    [Test]
    public async Task Drill_OfAGzipBackup_Passes()
    {
        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = await StoredBackups.StoreAsync(client, "?compress=gzip");

        var manifest = await DrillAsync(client, stored.Id());

        manifest.GetProperty("compressed").GetBoolean().Should().BeTrue();
        manifest.GetProperty("drill").GetProperty("outcome").GetString().Should().Be("passed");
    }

    [Test]
    public async Task Drill_OfABackupAlteredOnDisk_Fails_TheManifestSaysSo_AndOneWebhookNamesTheBackup_ThenAPassingDrillRecovers()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var server = CreateServer(("CoreScope:Notify:WebhookUrl", receiver.Url));
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var altered = await StoredBackups.StoreAsync(client);
        FlipAByte(StoredFile(server, altered));

        var manifest = await DrillAsync(client, altered.Id());

        var drill = manifest.GetProperty("drill");
        drill.GetProperty("outcome").GetString().Should().Be("failed");
        var problem = drill.GetProperty("problems").EnumerateArray().Should().ContainSingle().Subject.GetString();
        problem.Should().Contain("changed on disk after it was written").And.Contain(altered.Sha256());
        manifest.GetProperty("status").GetString().Should().Be("modified", "a file that is not what was written is no longer served");
        var onDisk = JsonNode.Parse(await File.ReadAllTextAsync(ManifestFile(server, altered.Id())))!;
        onDisk["drill"]!["outcome"]!.GetValue<string>().Should().Be("failed");
        onDisk["drill"]!["problems"]![0]!.GetValue<string>().Should().Be(problem);
        (await client.GetAsync($"/api/backups/{altered.Id()}/file")).StatusCode.Should().Be(HttpStatusCode.Conflict);

        await receiver.WaitForBodiesAsync(1);
        using (var alert = JsonDocument.Parse(receiver.Bodies[0]))
        {
            alert.RootElement.GetProperty("event").GetString().Should().Be("drill.failed");
            alert.RootElement.GetProperty("severity").GetString().Should().Be("critical");
            alert.RootElement.GetProperty("backupId").GetString().Should().Be(altered.Id());
            alert.RootElement.GetProperty("text").GetString().Should().Contain(altered.Id()).And.Contain("changed on disk");
        }

        var health = JsonDocument.Parse(await client.GetStringAsync("/api/health")).RootElement.GetProperty("backup");
        health.GetProperty("lastDrillOutcome").GetString().Should().Be("failed");
        MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_drills_total", "outcome=\"failed\"").Should().Be(1);

        // A good backup's drill ends the streak: one recovery, naming the backup that passed.
        var good = await StoredBackups.StoreAsync(client);
        (await DrillAsync(client, good.Id())).GetProperty("drill").GetProperty("outcome").GetString().Should().Be("passed");
        await receiver.WaitForBodiesAsync(2);
        await Task.Delay(300);
        receiver.Bodies.Should().HaveCount(2);
        using var recovery = JsonDocument.Parse(receiver.Bodies[1]);
        recovery.RootElement.GetProperty("event").GetString().Should().Be("drill.recovered");
        recovery.RootElement.GetProperty("backupId").GetString().Should().Be(good.Id());
    }

    [Test]
    public async Task Drill_OfABackupWhoseFileIsGone_Fails_SayingItIsDamaged()
    {
        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = await StoredBackups.StoreAsync(client);
        File.Delete(StoredFile(server, stored));

        var manifest = await DrillAsync(client, stored.Id());

        manifest.GetProperty("status").GetString().Should().Be("missing-file");
        manifest.GetProperty("drill").GetProperty("outcome").GetString().Should().Be("failed");
        manifest.GetProperty("drill").GetProperty("problems")[0].GetString().Should().StartWith("The stored backup is damaged (missing-file)");
        JsonNode.Parse(await File.ReadAllTextAsync(ManifestFile(server, stored.Id())))!["drill"]!["outcome"]!.GetValue<string>().Should().Be("failed");
    }

    [Test]
    public async Task Drill_NeverTouchesTheLiveDatabase()
    {
        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = await StoredBackups.StoreAsync(client);
        var live = new[] { Workspace.DatabasePath, Workspace.DatabasePath + "-wal" }
            .Where(File.Exists).ToDictionary(file => file, file => (StoredBackups.HashFile(file), File.GetLastWriteTimeUtc(file)));
        var rows = TestDatabase.RowCounts(Workspace.DatabasePath);

        (await DrillAsync(client, stored.Id())).GetProperty("drill").GetProperty("outcome").GetString().Should().Be("passed");

        foreach (var (file, (sha256, writtenAt)) in live)
        {
            StoredBackups.HashFile(file).Should().Be(sha256, $"{Path.GetFileName(file)} is the live database");
            File.GetLastWriteTimeUtc(file).Should().Be(writtenAt);
        }

        TestDatabase.RowCounts(Workspace.DatabasePath).Should().Equal(rows);
        server.Logs.Lines.Should().NotContain(line => line.Message.Contains(Workspace.DatabasePath, StringComparison.Ordinal) && line.Message.Contains("drill", StringComparison.OrdinalIgnoreCase));
    }

    [Test]
    public async Task Drill_WhenARowCountDiffersFromTheManifest_Fails_NamingTheTable()
    {
        string id;
        await using (var first = CreateServer())
        {
            using var client = first.CreateClient(CoreScopeApiFactory.StrongApiKey);
            id = (await StoredBackups.StoreAsync(client)).Id();
        }

        // The manifest, edited while the server is stopped, now claims one transmission more than the file holds.
        var manifestFile = Path.Combine(StoredBackups.DefaultFolder(Workspace.DatabasePath), $"corescope-backup-{id}.json");
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(manifestFile))!;
        manifest["rows"]!["transmissions"] = 121;
        await File.WriteAllTextAsync(manifestFile, manifest.ToJsonString());
        var server = CreateServer();
        using var restarted = server.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var drill = (await DrillAsync(restarted, id)).GetProperty("drill");

        drill.GetProperty("outcome").GetString().Should().Be("failed");
        drill.GetProperty("problems").EnumerateArray().Select(problem => problem.GetString()).Should()
            .Equal("Table transmissions has 120 rows in the restored copy; the manifest says 121.");
    }

    [Test]
    public async Task Drill_OfABackupWithAnObservationWithoutItsTransmission_FailsTheForeignKeyCheck()
    {
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            // Foreign keys are off on our connections (as on the server's), so the orphan can be written, as another tool might.
            connection.Execute("PRAGMA foreign_keys = OFF; UPDATE observations SET transmission_id = 99999 WHERE rowid = (SELECT MIN(rowid) FROM observations);");
        }

        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = await StoredBackups.StoreAsync(client);

        var drill = (await DrillAsync(client, stored.Id())).GetProperty("drill");

        drill.GetProperty("outcome").GetString().Should().Be("failed");
        drill.GetProperty("problems")[0].GetString().Should().StartWith("PRAGMA foreign_key_check of the restored copy found 1 row(s)")
            .And.Contain("observations rowid").And.Contain("→ transmissions");
    }

    [Test]
    public async Task Drill_OfABackupARestoreRefuses_Fails_WithTheRestoresReason()
    {
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("CREATE TRIGGER since_removed AFTER INSERT ON observations BEGIN SELECT 1; END;");
        }

        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = await StoredBackups.StoreAsync(client);

        // Gone from the live database since: the backup would bring back a trigger it does not have.
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("DROP TRIGGER since_removed;");
        }

        using var restore = await client.PostAsync($"/api/admin/restore?from={stored.Id()}&dryRun=true", null);
        restore.StatusCode.Should().Be(HttpStatusCode.UnprocessableEntity);
        var reason = await restore.ErrorMemberAsync();
        reason.Should().Contain("since_removed");

        var drill = (await DrillAsync(client, stored.Id())).GetProperty("drill");

        drill.GetProperty("outcome").GetString().Should().Be("failed");
        drill.GetProperty("problems").EnumerateArray().Select(problem => problem.GetString()).Should().Equal("A restore would refuse it: " + reason);
    }

    [Test]
    public async Task Drill_UnknownId_Returns404WithError()
    {
        using var client = CreateServer().CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var response = await client.PostAsync("/api/backups/20260101T000000Z-abcdef/drill", null);

        response.StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await response.ErrorMemberAsync()).Should().Contain("No stored backup has the id \"20260101T000000Z-abcdef\"");
    }

    [Test]
    public async Task Drill_WithoutApiKey_Returns401()
    {
        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = await StoredBackups.StoreAsync(client);
        using var anonymous = server.CreateClient(key: null);

        using var response = await anonymous.PostAsync($"/api/backups/{stored.Id()}/drill", null);

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await response.ErrorMemberAsync()).Should().NotBeNullOrEmpty();
        File.ReadAllText(ManifestFile(server, stored.Id())).Should().NotContain("\"outcome\"");
    }

    [Test]
    public async Task Drill_WhileABackupHoldsTheGate_Returns429WithRetryAfter_AndRecordsNothing()
    {
        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var stored = await StoredBackups.StoreAsync(client);
        await using var held = await server.Services.GetRequiredService<BackupService>().CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None);

        using var response = await client.PostAsync($"/api/backups/{stored.Id()}/drill", null);

        response.StatusCode.Should().Be(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter.Should().NotBeNull();
        (await response.ErrorMemberAsync()).Should().Contain("already running");
        (await StoredBackups.ListAsync(client)).GetProperty("backups")[0].GetProperty("drill").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [Test]
    public async Task Drill_WithTooLittleRoomInTheTempFolder_Returns507_AndRecordsNothing()
    {
        string id;
        await using (var first = CreateServer())
        {
            using var client = first.CreateClient(CoreScopeApiFactory.StrongApiKey);
            id = (await StoredBackups.StoreAsync(client)).Id();
        }

        using var restarted = CreateServer(("CoreScope:Backup:FreeSpaceMarginMB", "1000000")).CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var response = await restarted.PostAsync($"/api/backups/{id}/drill", null);

        response.StatusCode.Should().Be((HttpStatusCode)507);
        (await response.ErrorMemberAsync()).Should().Contain("Not enough free space in the backup temp folder for a restore drill");
        (await StoredBackups.ListAsync(restarted)).GetProperty("backups")[0].GetProperty("drill").ValueKind.Should().Be(JsonValueKind.Null);
        Workspace.BackupTempEntries().Should().BeEmpty();
    }

    [Test]
    public async Task OpenApi_ListsTheDrill_WithTheApiKeyRequirement_AndEveryStatusItAnswers()
    {
        using var client = CreateServer().CreateClient(key: null);

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/openapi"));

        var drill = document.RootElement.GetProperty("paths").GetProperty("/api/backups/{id}/drill").GetProperty("post");
        drill.GetProperty("security").EnumerateArray().Select(requirement => requirement.EnumerateObject().Single().Name).Should().Equal("ApiKey");
        drill.GetProperty("responses").EnumerateObject().Select(response => response.Name).Should().BeEquivalentTo("200", "401", "403", "404", "429", "507");
        document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("BackupDrill").GetProperty("properties")
            .EnumerateObject().Select(property => property.Name).Should().BeEquivalentTo("outcome", "at", "durationMs", "problems");
    }

    [Test]
    public async Task Start_RemovesTheDrillFolderACrashLeft_ButNotOneALiveDrillOwns()
    {
        var crashed = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "corescope-drill-0123abcd"));
        await File.WriteAllTextAsync(Path.Combine(crashed.FullName, "drill.db"), "half a scratch copy");
        await File.WriteAllTextAsync(Path.Combine(crashed.FullName, "owner.lock"), "CoreScope.Analyzer process 1");
        var live = Directory.CreateDirectory(Path.Combine(Workspace.BackupTempDirectory, "corescope-drill-live0001"));
        await using var liveLock = new FileStream(Path.Combine(live.FullName, "owner.lock"), FileMode.CreateNew, FileAccess.Write, FileShare.None);

        using var client = CreateServer().CreateClient(key: null);
        await client.GetAsync("/api/health");

        Directory.Exists(crashed.FullName).Should().BeFalse("nobody holds its owner lock any more");
        Directory.Exists(live.FullName).Should().BeTrue("another server's drill holds its lock");
    }
}
