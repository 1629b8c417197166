
namespace CoreScope.Api.Tests.Restore;

/// <summary>docs/restore.md, "Disk": a restore that will not fit is refused with 507 before it reads its upload.</summary>
public sealed class RestoreDiskTests : WorkspaceTests
{
    [Test]
    public async Task Restore_ThatWillNotFit_Is507BeforeItStarts()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 100);
        string backup;
        await using (var plain = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey))
        {
            using var plainClient = plain.CreateClient(CoreScopeApiFactory.StrongApiKey);
            backup = await RestoreFiles.DownloadBackupAsync(plainClient, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        }

        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 10);
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        // A margin larger than any disk here: the guard must say no whatever the free space.
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey,
            new Dictionary<string, string?> { ["CoreScope:Backup:FreeSpaceMarginMB"] = "1000000" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var response = await RestoreFiles.PostRestoreAsync(client, backup);

        var problem = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.InsufficientStorage);
        var error = problem.GetProperty("error").GetString();
        error.Should().Contain("Not enough free space").And.Contain("the staging copy").And.Contain("the safety copy")
            .And.Contain("the database's WAL").And.Contain("Nothing was changed");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
        var safetyCopies = Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, "backups");
        RestoreFiles.SafetyCopies(safetyCopies).Should().BeEmpty();
        Workspace.BackupTempEntries().Should().BeEmpty();
        (await RestoreAuditTests.AuditLinesAsync(factory, 1)).Should().ContainSingle(line =>
            line.Message.Contains("status=507", StringComparison.Ordinal) && line.Message.Contains("bytes=0 ", StringComparison.Ordinal),
            "the guard refused before the first byte of the upload was read");
    }
}
