using CoreScope.Api.Tests.Backup;
using CoreScope.Api.Tests.Restore;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>docs/offsite.md "Restore from a copy": the list from the target's manifests, <c>?offsite=</c>, and a new, empty machine.</summary>
[Category("Slow")]
public sealed class OffsiteRestoreTests : WorkspaceTests
{
    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task List_ShowsWhatTheTargetHolds_FromItsManifests(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(50);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var first = await StoredBackups.StoreAsync(client);
        await OffsiteCopies.WaitForCopyAsync(client, first.Id(), targetName);
        var second = await StoredBackups.StoreAsync(client, "?compress=gzip");
        await OffsiteCopies.WaitForCopyAsync(client, second.Id(), targetName);

        using var response = await client.GetAsync("/api/offsite/backups");

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        var listing = JsonDocument.Parse(body).RootElement.GetProperty("targets").EnumerateArray().Should().ContainSingle().Subject;
        listing.GetProperty("target").GetString().Should().Be(targetName);
        listing.GetProperty("error").ValueKind.Should().Be(JsonValueKind.Null);
        var backups = listing.GetProperty("backups").EnumerateArray().ToList();
        backups.Select(backup => backup.GetProperty("manifest").Id()).Should().BeEquivalentTo([first.Id(), second.Id()]);
        var gzip = backups.Single(backup => backup.GetProperty("manifest").Id() == second.Id());
        gzip.GetProperty("key").GetString().Should().Be($"corescope/corescope-backup-{second.Id()}.db.gz");
        gzip.GetProperty("restore").GetString().Should().Be($"{targetName}:corescope/corescope-backup-{second.Id()}.db.gz");
        gzip.GetProperty("manifest").Sha256().Should().Be(second.Sha256());
    }

    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task RestoreWithOffsite_PullsTheCopy_ThroughEveryCheck_AndRestoresIt(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        await CreateDatabaseAsync(120);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client, "?compress=gzip");
        var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
        var expected = DatabaseContent.Read(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 30);
        var source = targetName + ":" + copy.GetProperty("key").GetString();

        using var response = await client.PostAsync("/api/admin/restore?offsite=" + Uri.EscapeDataString(source), null);

        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        var answer = JsonDocument.Parse(body).RootElement;
        answer.GetProperty("source").GetString().Should().Be(source);
        answer.GetProperty("gzip").GetBoolean().Should().BeTrue();
        answer.GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(120);
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(120);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(expected, options => options.WithStrictOrdering());
        answer.GetProperty("preRestoreBackupId").GetString().Should().NotBeNullOrEmpty();

        // The download's staging folder goes with the restore; the safety copy, a stored backup, is then copied off the
        // box too, in a work folder of its own that goes with that copy.
        await OffsiteCopies.WaitForCopyAsync(client, answer.GetProperty("preRestoreBackupId").GetString()!, targetName);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }

    [Test]
    public async Task RestoreWithOffsite_UnknownKeyTargetOrATargetDown_AnswersWhatIsWrong_AndChangesNothing()
    {
        await using var target = await TargetUnderTest.StartAsync("s3", Workspace.Root);
        await CreateDatabaseAsync(40);
        var server = CreateServer([.. target.Settings().Select(setting => (setting.Key, setting.Value!))]);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        using var missing = await client.PostAsync("/api/admin/restore?offsite=" + Uri.EscapeDataString("s3:corescope/corescope-backup-20260101T030000Z-abcdef.db"), null);
        using var unknownTarget = await client.PostAsync("/api/admin/restore?offsite=" + Uri.EscapeDataString("azureblob:corescope/x.db"), null);
        using var both = await client.PostAsync("/api/admin/restore?from=x&offsite=s3:y", null);
        await target.Emulator.StopAsync();
        using var down = await client.PostAsync("/api/admin/restore?offsite=" + Uri.EscapeDataString("s3:corescope/corescope-backup-20260101T030000Z-abcdef.db"), null);

        missing.StatusCode.Should().Be(HttpStatusCode.NotFound);
        JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().Should().Contain("holds no backup");
        unknownTarget.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await unknownTarget.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().Should().Contain("is not configured");
        both.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        down.StatusCode.Should().Be(HttpStatusCode.BadGateway);
        JsonDocument.Parse(await down.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().Should().Contain("could not be reached");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    /// <summary>docs/offsite.md "A new, empty machine", as commands: the old box is gone, the bucket is all there is.</summary>
    [TestCase("s3")]
    [TestCase("azureblob")]
    public async Task EmptyMachine_RestoresYesterdaysDataFromTheBucket_WithTheOfflineCommand(string targetName)
    {
        await using var target = await TargetUnderTest.StartAsync(targetName, Workspace.Root);
        var settings = target.Settings("box-7/");

        // The old box: a database, a nightly backup copied off it. Then the box is gone.
        await CreateDatabaseAsync(150);
        string source;
        SortedDictionary<string, List<string>> original;
        await using (var oldBox = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, settings))
        {
            using var client = oldBox.CreateClient(CoreScopeApiFactory.StrongApiKey);
            var manifest = await StoredBackups.StoreAsync(client, "?compress=gzip");
            var copy = await OffsiteCopies.WaitForCopyAsync(client, manifest.Id(), targetName);
            source = targetName + ":" + copy.GetProperty("key").GetString();
            original = DatabaseContent.Read(Workspace.DatabasePath);
        }

        // The new box: an empty data folder and the same offsite settings, as environment variables.
        using var newBox = new TestWorkspace();
        var environment = settings.ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value);
        environment["CoreScope__ApiKey"] = "";
        environment["CoreScope__Backup__TempDirectory"] = newBox.BackupTempDirectory;
        var dataFolder = Path.Combine(newBox.Root, "data");

        // Without the old box's signing key the bucket's manifests cannot be told from planted ones; with it, they can.
        var withoutSigningKey = await ExternalTools.RunAsync("dotnet",
            [ServerProcess.ServerDll, "restore", "--from-offsite", source, "--database", Path.Combine(dataFolder, "corescope.db")], environment);
        var restoredWithoutKey = File.Exists(Path.Combine(dataFolder, "corescope.db"));
        OffsiteCopies.BringSigningKey(Workspace.DatabasePath, Path.Combine(dataFolder, "corescope.db"));
        var (exitCode, output, error) = await ExternalTools.RunAsync("dotnet",
            [ServerProcess.ServerDll, "restore", "--from-offsite", source, "--database", Path.Combine(dataFolder, "corescope.db")], environment);

        withoutSigningKey.ExitCode.Should().Be(3, withoutSigningKey.StandardError);
        withoutSigningKey.StandardError.Should().Contain("no signing key").And.Contain("offsite-signing.key");
        restoredWithoutKey.Should().BeFalse();
        exitCode.Should().Be(0, output + error);
        output.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("restored " + source).And.Contain("transmissions=150");
        DatabaseContent.Read(Path.Combine(dataFolder, "corescope.db")).Should().BeEquivalentTo(original, options => options.WithStrictOrdering());
        TestDatabase.IntegrityCheck(Path.Combine(dataFolder, "corescope.db")).Should().Be("ok");

        // And a server started there serves those rows.
        var server = new CoreScopeApiFactory(newBox, CoreScopeApiFactory.StrongApiKey,
            new Dictionary<string, string?>(settings) { ["CoreScope:Database:Path"] = Path.Combine(dataFolder, "corescope.db") });
        await using (server)
        {
            using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
            using var stats = await client.GetAsync("/api/stats");
            JsonDocument.Parse(await stats.Content.ReadAsStringAsync()).RootElement.GetProperty("totalTransmissions").GetInt64().Should().Be(150);
        }
    }

    [Test]
    public async Task OfflineCommand_WithAnUnknownKey_Exits3_AndWithoutATarget_Exits2_InOneLine()
    {
        await using var target = await TargetUnderTest.StartAsync("s3", Workspace.Root);
        var environment = target.Settings().ToDictionary(setting => setting.Key.Replace(":", "__", StringComparison.Ordinal), setting => setting.Value);
        environment["CoreScope__ApiKey"] = "";
        var database = Path.Combine(Workspace.Root, "new", "corescope.db");

        var unknown = await ExternalTools.RunAsync("dotnet",
            [ServerProcess.ServerDll, "restore", "--from-offsite", "s3:corescope/corescope-backup-20260101T030000Z-abcdef.db", "--database", database], environment);
        var notConfigured = await ExternalTools.RunAsync("dotnet",
            [ServerProcess.ServerDll, "restore", "--from-offsite", "azureblob:corescope/corescope-backup-20260101T030000Z-abcdef.db", "--database", database], environment);

        unknown.ExitCode.Should().Be(3, unknown.StandardError);
        unknown.StandardError.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("restore failed: ").And.Contain("holds no backup");
        notConfigured.ExitCode.Should().Be(2, notConfigured.StandardError);
        notConfigured.StandardError.Should().Contain("is not configured");
        File.Exists(database).Should().BeFalse();
    }
}
