using System.Globalization;
using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using CoreScope.Api.Tests.Restore;
using CoreScope.Data.Store;

namespace CoreScope.Api.Tests.Backup;

/// <summary>
/// docs/backup.md "Stored backups", at start: what the store does with what it finds in its folder (manifests it never
/// wrote, a FIFO named like one, its own half-written files beside an operator's) and with a folder it cannot use.
/// </summary>
public sealed class BackupStoreStartTests : WorkspaceTests
{
    private string StoreFolder => StoredBackups.DefaultFolder(Workspace.DatabasePath);

    private string ManifestPath(string id) => Path.Combine(StoreFolder, $"corescope-backup-{id}.json");

    // Backups stored by a first server, which is gone before the test changes their files.
    private async Task<List<string>> StoreBackupsAsync(int count)
    {
        await CreateDatabaseAsync(120);
        await using var first = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = first.CreateOperatorClient();
        var ids = new List<string>();
        for (var i = 0; i < count; i++)
        {
            ids.Add((await StoredBackups.StoreAsync(client)).Id());
        }

        return ids;
    }

    private async Task EditManifestAsync(string id, Action<JsonObject> change)
    {
        var manifest = JsonNode.Parse(await File.ReadAllTextAsync(ManifestPath(id)))!.AsObject();
        change(manifest);
        await File.WriteAllTextAsync(ManifestPath(id), manifest.ToJsonString());
    }

    // What the store writes before a rename (a snapshot, its gzip, a manifest) and what SQLite leaves beside a snapshot.
    private static readonly string[] OwnPartialSuffixes = [".db.partial", ".db.gz.partial", ".json.partial", ".db.partial-journal", ".db.partial-wal", ".db.partial-shm"];

    private static Dictionary<string, JsonElement> ById(JsonElement list) =>
        list.GetProperty("backups").EnumerateArray().ToDictionary(backup => backup.Id(), backup => backup);

    [TestCase("fileName", "null", "it has no fileName")]
    [TestCase("trigger", "null", "it has no trigger")]
    [TestCase("method", "null", "it has no method")]
    [TestCase("sha256", "null", "its sha256 is not 64 hex digits")]
    [TestCase("serverVersion", "null", "it has no serverVersion")]
    [TestCase("schemaSteps", "null", "its schemaSteps are missing or hold a null")]
    [TestCase("schemaSteps", "[null]", "its schemaSteps are missing or hold a null")]
    [TestCase("rows", "null", "it has no rows")]
    [TestCase("rows", """{"nodes": -1}""", "its rows hold a negative count")]
    [TestCase("sizeBytes", "-1", "its sizeBytes -1 is out of range")]
    [TestCase("durationMs", "-1", "its durationMs -1 is negative")]
    [TestCase("createdAt", "\"2020-01-01T00:00:00Z\"", "is not the time in its id")]
    [TestCase("offsite", "[null]", "its offsite copies hold one without")]
    [TestCase("drill", """{"outcome": null, "at": "2026-01-01T00:00:00Z", "durationMs": 1, "problems": []}""", "its drill lacks an outcome")]
    public async Task Start_WithAManifestMemberNullOrOutOfRange_ListsItAsUnreadable_SaysWhyOnce_AndServesTheOthers(string member, string json, string reason)
    {
        var ids = await StoreBackupsAsync(2);
        var (bad, good) = (ids[0], ids[1]);
        var badFileBytes = new FileInfo(Path.Combine(StoreFolder, $"corescope-backup-{bad}.db")).Length;
        await EditManifestAsync(bad, manifest => manifest[member] = JsonNode.Parse(json));

        await using var server = CreateServer();
        using var client = server.CreateOperatorClient();
        var listed = ById(await StoredBackups.ListAsync(client));

        listed[bad].GetProperty("status").GetString().Should().Be(StoredBackupStatus.UnreadableManifest);
        listed[bad].GetProperty("sizeBytes").GetInt64().Should().Be(badFileBytes, "what is left of it is its file");
        listed[good].GetProperty("status").GetString().Should().Be(StoredBackupStatus.Ok);
        server.Logs.Lines.Where(line => line.Message.Contains(bad, StringComparison.Ordinal))
            .Should().ContainSingle().Which.Message.Should().Contain("is damaged").And.Contain($"corescope-backup-{bad}.json").And.Contain(reason);
        (await client.GetAsync($"/api/backups/{good}/file")).StatusCode.Should().Be(HttpStatusCode.OK);
        using var refused = await client.GetAsync($"/api/backups/{bad}/file");
        refused.StatusCode.Should().Be(HttpStatusCode.Conflict);
    }

    [Test]
    public async Task Start_WithManifestsWhoseSizeBytesIsHuge_ListsThemAsUnreadable_InsteadOfAborting()
    {
        // Two, so that the catalogue's sum of sizes would overflow: each alone fits in a long.
        var ids = await StoreBackupsAsync(2);
        foreach (var id in ids)
        {
            await EditManifestAsync(id, manifest => manifest["sizeBytes"] = long.MaxValue);
        }

        await using var server = CreateServer();
        using var client = server.CreateOperatorClient();
        var listed = ById(await StoredBackups.ListAsync(client));

        listed.Keys.Should().BeEquivalentTo(ids);
        listed.Values.Should().AllSatisfy(backup =>
        {
            backup.GetProperty("status").GetString().Should().Be(StoredBackupStatus.UnreadableManifest);
            backup.GetProperty("sizeBytes").GetInt64().Should().Be(new FileInfo(Path.Combine(StoreFolder, $"corescope-backup-{backup.Id()}.db")).Length);
        });
        server.Logs.Lines.Should().Contain(line => line.Message.Contains("is out of range", StringComparison.Ordinal));
    }

    [Test]
    public async Task Drill_OfABackupWhoseManifestSaysRowsNull_IsAFailedVerdict_NotA500()
    {
        var id = (await StoreBackupsAsync(1))[0];
        await EditManifestAsync(id, manifest => manifest["rows"] = null);

        await using var server = CreateServer();
        using var client = server.CreateOperatorClient();
        using var response = await client.PostAsync($"/api/backups/{id}/drill", null);
        var body = await response.Content.ReadAsStringAsync();

        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        var drill = JsonDocument.Parse(body).RootElement.GetProperty("drill");
        drill.GetProperty("outcome").GetString().Should().Be("failed");
        drill.GetProperty("problems")[0].GetString().Should().Contain($"damaged ({StoredBackupStatus.UnreadableManifest})");
    }

    [Test]
    public async Task Start_SweepsOnlyTheStoresOwnHalfWrittenFiles_AndLeavesAnOperatorsPartialFilesAlone()
    {
        await StoreBackupsAsync(1);
        const string id = "20250102T000000Z-0000bb";
        var own = OwnPartialSuffixes.Select(suffix => $"corescope-backup-{id}{suffix}").ToList();
        var operators = new[]
        {
            "corescope-backup-x.partial", "corescope-backup-notes.partial.txt", $"corescope-backup-{id}.db.partial.keep",
            "corescope-backup-yesterday.db.partial", $"corescope-backup-{id}.partial",
        };
        foreach (var name in own.Concat(operators))
        {
            await File.WriteAllTextAsync(Path.Combine(StoreFolder, name), "half");
        }

        await using (var server = CreateServer())
        {
            using var client = server.CreateOperatorClient();
            (await StoredBackups.IdsAsync(client)).Should().HaveCount(1, "none of these is a stored backup");
            server.Logs.Lines.Count(line => line.Message.Contains("left half-written", StringComparison.Ordinal)).Should().Be(own.Count);
        }

        own.Should().AllSatisfy(name => File.Exists(Path.Combine(StoreFolder, name)).Should().BeFalse(name));
        operators.Should().AllSatisfy(name => File.Exists(Path.Combine(StoreFolder, name)).Should().BeTrue(name));
    }

    [Test]
    [Category("Slow")]
    [Platform(Exclude = "Win", Reason = "mkfifo")]
    public async Task Start_WithAFifoNamedLikeAManifest_ListsItAsUnreadable_WithoutOpeningIt()
    {
        var good = (await StoreBackupsAsync(1))[0];
        const string fifo = "20250103T000000Z-0000cc";
        var (exitCode, _, error) = await ExternalTools.RunAsync("mkfifo", [ManifestPath(fifo)]);
        exitCode.Should().Be(0, error);

        // A real process: a start blocked in open(2) on the FIFO never answers health, and is killed by its id.
        await using var server = await ServerProcess.StartAsync(Workspace);
        using var client = server.CreateClient();
        var listed = ById(await StoredBackups.ListAsync(client));

        listed[fifo].GetProperty("status").GetString().Should().Be(StoredBackupStatus.UnreadableManifest);
        listed[good].GetProperty("status").GetString().Should().Be(StoredBackupStatus.Ok);
        server.HasLogged("not a regular file").Should().BeTrue(string.Join('\n', server.Lines));
    }

    [TestCase("America/New_York", "-05:00")]
    [TestCase("Pacific/Chatham", "+13:45")]
    [Category("Slow")]
    public async Task Start_OnAHostNotOnUtc_ReadsACreatedAtWithAnOffsetAsTheSameInstantInUtc(string timeZone, string offset)
    {
        var id = (await StoreBackupsAsync(1))[0];
        var createdAt = DateTimeOffset.Parse(
            JsonNode.Parse(await File.ReadAllTextAsync(ManifestPath(id)))!["createdAt"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        var elsewhere = createdAt.ToOffset(TimeSpan.Parse(offset.TrimStart('+'), CultureInfo.InvariantCulture));
        await EditManifestAsync(id, manifest => manifest["createdAt"] = elsewhere.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffffzzz", CultureInfo.InvariantCulture));

        await using var server = await ServerProcess.StartAsync(Workspace, new Dictionary<string, string> { ["TZ"] = timeZone });
        using var client = server.CreateClient();
        var listed = ById(await StoredBackups.ListAsync(client))[id];

        listed.GetProperty("status").GetString().Should().Be(StoredBackupStatus.Ok);
        listed.GetProperty("createdAt").GetString().Should().EndWith("Z");
        listed.GetProperty("createdAt").GetDateTimeOffset().Should().Be(createdAt);
    }

    // The store folder as CoreScope:Backup:Store:Directory names it, and how it is made unusable.
    public enum UnusableFolder
    {
        AFile,
        ALinkToNothing,
        Unreadable,
        Unwritable,
    }

    [TestCase(UnusableFolder.AFile, "is a file, not a folder")]
    [TestCase(UnusableFolder.ALinkToNothing, "is a link to")]
    [TestCase(UnusableFolder.Unreadable, "cannot be used: Access to the path")]
    [TestCase(UnusableFolder.Unwritable, "cannot be used: Access to the path")]
    [Category("Slow")]
    [Platform(Exclude = "Win", Reason = "Unix permissions and setpriv")]
    [UnsupportedOSPlatform("windows")]
    public async Task Start_WithAStoreFolderItCannotUse_EndsWithOneLineNamingItAndExitCode78(UnusableFolder unusable, string message)
    {
        var folder = Path.Combine(Workspace.Root, "store");
        switch (unusable)
        {
            case UnusableFolder.AFile:
                await File.WriteAllTextAsync(folder, "not a folder");
                break;
            case UnusableFolder.ALinkToNothing:
                File.CreateSymbolicLink(folder, Path.Combine(Workspace.Root, "gone"));
                break;
            case UnusableFolder.Unreadable:
                // Write and search, no read: the folder can take files but not be listed.
                Directory.CreateDirectory(folder, UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                    UnixFileMode.OtherWrite | UnixFileMode.OtherExecute);
                break;
            case UnusableFolder.Unwritable:
                Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute |
                    UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
                break;
        }

        var (exitCode, output, error) = await RunServerUnprivilegedAsync(new Dictionary<string, string?> { ["CoreScope__Backup__Store__Directory"] = folder });

        exitCode.Should().Be(78, output + error);
        error.TrimEnd().Split('\n').Should().ContainSingle().Which.Should()
            .StartWith("CoreScope.Analyzer cannot start: The backup store folder " + folder).And.Contain(message).And.Contain("CoreScope:Backup:Store:Directory");
        (output + error).Should().NotContain("   at ", "no stack trace for a folder the operator can fix");
    }

    // The server as a service user runs it: permissions do not stop root, so when the tests run as root the server runs
    // as root without the two capabilities that bypass them (setpriv): it keeps reading the build output wherever the
    // clone lies (as nobody it could not pass a 0700 clone folder: realpath failed on a fresh clone under mktemp -d).
    // It ends by itself: refused, or killed at the time-out.
    [UnsupportedOSPlatform("windows")]
    private async Task<(int ExitCode, string Output, string Error)> RunServerUnprivilegedAsync(Dictionary<string, string?> environment)
    {
        var writable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupWrite |
            UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        foreach (var folder in new[] { Workspace.Root, Path.GetDirectoryName(Workspace.DatabasePath)!, Workspace.BackupTempDirectory })
        {
            Directory.CreateDirectory(folder);
            File.SetUnixFileMode(folder, writable);
        }

        environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        environment["HOME"] = Workspace.Root;
        environment["CoreScope__ApiKey"] = CoreScopeApiFactory.StrongApiKey;
        environment["CoreScope__Database__Path"] = Workspace.DatabasePath;
        environment["CoreScope__Backup__TempDirectory"] = Workspace.BackupTempDirectory;
        string[] server = ["dotnet", ServerProcess.ServerDll];
        string[] command = Environment.IsPrivilegedProcess
            ? ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search", "--", .. server]
            : server;
        return await ExternalTools.RunAsync(command[0], command[1..], environment, timeoutMs: 60_000);
    }
}
