using System.Net;
using System.Text.Json;
using CoreScope.Api.Tests.Infrastructure;
using FluentAssertions;
using NUnit.Framework;

namespace CoreScope.Api.Tests.Backup;

/// <summary>A backup that cannot start its snapshot (docs/backup.md, "Errors") fails alone and leaves nothing taken.</summary>
public sealed class BackupFailureTests : WorkspaceTests
{
    [Test]
    public async Task Backup_TempFolderCannotBeCreated_Is500WithItsReason_AndFreesItsSlot()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 10);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        // A file where the temp folder should be.
        Directory.Delete(Workspace.BackupTempDirectory, recursive: true);
        await File.WriteAllTextAsync(Workspace.BackupTempDirectory, "not a folder");
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var failed = await client.GetAsync("/api/backup");
            failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError, "the second attempt too: the first must not keep the only slot");
            using var problem = JsonDocument.Parse(await failed.Content.ReadAsStringAsync());
            problem.RootElement.GetProperty("error").GetString().Should().StartWith("The snapshot failed:").And.Contain(Workspace.BackupTempDirectory);
        }

        File.Delete(Workspace.BackupTempDirectory);
        Directory.CreateDirectory(Workspace.BackupTempDirectory);
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
