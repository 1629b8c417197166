
namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// docs/restore.md, "Offline": <c>dotnet CoreScope.Api.dll restore &lt;file&gt; --database &lt;path&gt;</c> with the server
/// stopped, run as an operator runs it: same checks, same safety copy, an exit code and one line.
/// </summary>
[Category("Slow")]
public sealed class RestoreOfflineCommandTests : WorkspaceTests
{
    private string SafetyCopyFolder => Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, "backups");

    // The folder itself is the backup store's too, which makes it at start: what matters is that no safety copy is in it.
    private string[] SafetyCopies() =>
        RestoreFiles.SafetyCopies(SafetyCopyFolder);

    private async Task<string> MakeBackupThenWriteMoreAsync()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 120);
        string backup;
        await using (var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey))
        {
            using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
            backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db.gz"), "?compress=gzip");
        }

        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 30);
        return backup;
    }

    private static Task<(int ExitCode, string StandardOutput, string StandardError)> RunRestoreAsync(params string[] arguments) =>
        ExternalTools.RunAsync("dotnet", [ServerProcess.ServerDll, "restore", .. arguments], new Dictionary<string, string?>
        {
            // No key, no settings file: the command needs neither.
            ["CoreScope__ApiKey"] = "",
        });

    [Test]
    public async Task Restore_OfAGzipBackup_RestoresIt_KeepsASafetyCopy_AndSaysSoInOneLine()
    {
        var backup = await MakeBackupThenWriteMoreAsync();
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        var (exitCode, output, error) = await RunRestoreAsync(backup, "--database", Workspace.DatabasePath);

        exitCode.Should().Be(0, error);
        output.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("restored backup.db.gz by backup-api")
            .And.Contain("transmissions=120").And.Contain("quick_check: ok");
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(120);
        TestDatabase.IntegrityCheck(Workspace.DatabasePath).Should().Be("ok");
        DatabaseContent.HeaderVersionBytes(Workspace.DatabasePath).Should().Be(((byte)2, (byte)2));
        var manifest = RestoreFiles.SafetyCopies(SafetyCopyFolder).Should().ContainSingle().Subject;
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(manifest));
        json.RootElement.GetProperty("trigger").GetString().Should().Be("pre-restore");
        var id = json.RootElement.GetProperty("id").GetString()!;
        output.Should().Contain("safety copy: " + id);
        DatabaseContent.Read(RestoreFiles.StoredFile(SafetyCopyFolder, id)).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    [Test]
    public async Task Restore_OfAFileThatIsNotADatabase_Exits3WithOneLine_AndChangesNothing()
    {
        await MakeBackupThenWriteMoreAsync();
        var before = DatabaseContent.Read(Workspace.DatabasePath);
        var notADatabase = Path.Combine(Workspace.DownloadDirectory, "notes.db");
        await File.WriteAllTextAsync(notADatabase, "these are not the pages you are looking for\n");

        var (exitCode, output, error) = await RunRestoreAsync(notADatabase, "--database", Workspace.DatabasePath);

        exitCode.Should().Be(3);
        output.Should().BeEmpty();
        error.Trim().Split('\n').Should().ContainSingle().Which.Should().StartWith("restore failed: ").And.Contain("not a SQLite database");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
        SafetyCopies().Should().BeEmpty();
    }

    [Test]
    public async Task Restore_OverALiveFileTooDamagedToOpen_PutsTheCheckedCopyInItsPlace_AndKeepsTheDamagedBytes()
    {
        var backup = await MakeBackupThenWriteMoreAsync();
        var expected = DatabaseContent.Read(await GunzipAsync(backup));
        await using (var live = new FileStream(Workspace.DatabasePath, FileMode.Open, FileAccess.Write))
        {
            live.Write(new byte[100]);
        }

        var damaged = await File.ReadAllBytesAsync(Workspace.DatabasePath);

        var (exitCode, output, error) = await RunRestoreAsync(backup, "--database", Workspace.DatabasePath);

        exitCode.Should().Be(0, error);
        output.Should().Contain("by file-swap");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(expected, options => options.WithStrictOrdering());
        TestDatabase.IntegrityCheck(Workspace.DatabasePath).Should().Be("ok");
        DatabaseContent.HeaderVersionBytes(Workspace.DatabasePath).Should().Be(((byte)2, (byte)2));
        var manifest = SafetyCopies().Should().ContainSingle().Subject;
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(manifest));
        json.RootElement.GetProperty("method").GetString().Should().Be("file");
        json.RootElement.GetProperty("integrity").GetString().Should().StartWith("the live database could not be read");
        var copy = RestoreFiles.StoredFile(SafetyCopyFolder, json.RootElement.GetProperty("id").GetString()!);
        (await File.ReadAllBytesAsync(copy)).Should().Equal(damaged, "the safety copy keeps the damaged file as it was");
        File.Exists(Workspace.DatabasePath + ".restore.partial").Should().BeFalse();
    }

    [Test]
    public async Task Restore_OfAFileWithForeignTriggers_Exits3NamingThem_AndWithDropTriggersRestoresItWithoutThem()
    {
        var backup = await MakeBackupThenWriteMoreAsync();
        var triggered = RestoreFiles.Edited(await GunzipAsync(backup), Path.Combine(Workspace.DownloadDirectory, "triggers.db"), RestoreFiles.ForeignTriggersSql);
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        var (refusedCode, _, refused) = await RunRestoreAsync(triggered, "--database", Workspace.DatabasePath);

        refusedCode.Should().Be(3, refused);
        refused.Should().Contain("triggers the live database does not have: fail_schema_step on _migrations, mark_ingest on observations")
            .And.Contain("--drop-triggers");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());

        var (exitCode, output, error) = await RunRestoreAsync(triggered, "--database", Workspace.DatabasePath, "--drop-triggers");

        exitCode.Should().Be(0, error);
        output.Should().Contain("transmissions=120").And.Contain("triggers dropped: fail_schema_step, mark_ingest");
        RestoreFiles.Triggers(Workspace.DatabasePath).Should().BeEmpty();
        RestoreFiles.Markers(Workspace.DatabasePath).Should().Be(0);
    }

    [Test]
    public async Task Restore_WithoutAFile_Exits2WithTheUsage()
    {
        var (exitCode, _, error) = await RunRestoreAsync("--database", Path.Combine(Workspace.Root, "x.db"));

        exitCode.Should().Be(2);
        error.Should().Contain("usage: dotnet CoreScope.Api.dll restore <file.db|file.db.gz>").And.Contain("[--database <path>]");
    }

    private async Task<string> GunzipAsync(string gzipFile)
    {
        var target = Path.Combine(Workspace.DownloadDirectory, "unpacked.db");
        await using var input = new System.IO.Compression.GZipStream(File.OpenRead(gzipFile), System.IO.Compression.CompressionMode.Decompress);
        await using var output = File.Create(target);
        await input.CopyToAsync(output);
        return target;
    }
}
