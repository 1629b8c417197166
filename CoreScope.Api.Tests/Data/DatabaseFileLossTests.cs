using System.Net.Http.Json;
using CoreScope.Data;

namespace CoreScope.Api.Tests.Data;

/// <summary>
/// The database file deleted or replaced under a running server, and a database that existed missing at start:
/// writes fail loudly instead of going into a file that is gone at the next start, and a start does not quietly
/// put an empty database where one was.
/// </summary>
public sealed class DatabaseFileLossTests : WorkspaceTests
{
    private string MarkerPath => Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, ".corescope.db.marker");

    [Test]
    public async Task Ingest_AfterTheDatabaseFilesWereDeleted_Returns503WithTheReason_AndHealthSaysSo()
    {
        var server = CreateServer();
        using var client = server.CreateOperatorClient();
        (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert, observer = "A" })).StatusCode.Should().Be(HttpStatusCode.OK);

        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(Workspace.DatabasePath)!, "corescope.db*"))
        {
            File.Delete(file);
        }

        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var refused = await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert, observer = "B" + attempt });
            refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
            refused.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
            var error = await refused.ErrorMemberAsync();
            error.Should().Contain("deleted").And.Contain("Restore");
            error.Should().NotContain(Workspace.Root, "server paths stay out of responses");
        }

        using var health = await client.GetAsync("/api/health");
        health.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await health.Content.ReadAsStringAsync()).Should().Contain("deleted");
        server.Logs.Lines.Where(line => line.Message.Contains("writes are refused", StringComparison.Ordinal) && line.Category.EndsWith("DatabaseWriter", StringComparison.Ordinal))
            .Should().ContainSingle("the operator is told once, with the path").Which.Message.Should().Contain(Workspace.DatabasePath);
    }

    [Test]
    public async Task Ingest_AfterTheDatabaseWasReplacedByAnotherFile_Returns503_AndNothingGoesIntoEither()
    {
        var server = CreateServer();
        using var client = server.CreateOperatorClient();
        (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert, observer = "A" })).StatusCode.Should().Be(HttpStatusCode.OK);
        var replacement = Path.Combine(Workspace.DownloadDirectory, "replacement.db");
        await TestDatabase.CreateAsync(replacement);
        TestDatabase.Populate(replacement, transmissions: 3);
        using (var connection = TestDatabase.Open(replacement))
        {
            Dapper.SqlMapper.Execute(connection, "PRAGMA journal_mode = DELETE;");
        }

        File.Move(replacement, Workspace.DatabasePath, overwrite: true);

        using var refused = await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert, observer = "B" });

        refused.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await refused.ErrorMemberAsync()).Should().Contain("replaced").And.Contain("Restart the server");
        // Read the file alone: the old file's -wal beside it belongs to the writer's connection, not to it.
        var copy = Path.Combine(Workspace.DownloadDirectory, "check.db");
        File.Copy(Workspace.DatabasePath, copy);
        TestDatabase.RowCounts(copy)["transmissions"].Should().Be(3, "the refused write went nowhere");
        (await client.GetAsync("/api/health")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
    }

    [Test]
    public async Task Start_WhenTheDatabaseIsMissingButItsMarkerSaysItExisted_RefusesAndCreatesNothing()
    {
        await using (var first = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey))
        {
            using var client = first.CreateOperatorClient();
            (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert })).StatusCode.Should().Be(HttpStatusCode.OK);
        }

        File.Exists(MarkerPath).Should().BeTrue("the first start leaves a marker beside the database");
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(Workspace.DatabasePath)!, "corescope.db*"))
        {
            File.Delete(file);
        }

        var second = CreateServer();
        var start = () => second.CreateClient();

        start.Should().Throw<StartupCheckFailedException>()
            .Which.Message.Should().Contain("is missing").And.Contain(".corescope.db.marker").And.Contain("Restore");
        File.Exists(Workspace.DatabasePath).Should().BeFalse("no empty database is put in its place");
    }

    [Test]
    public async Task Start_WhenTheDatabaseAndItsMarkerAreGone_ButItsStoredBackupsAndLinkKeysRemain_Refuses()
    {
        await using (var first = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey))
        {
            using var client = first.CreateOperatorClient();
            using var stored = await client.PostAsync("/api/backups", null);
            stored.StatusCode.Should().Be(HttpStatusCode.Created);
            using var manifest = JsonDocument.Parse(await stored.Content.ReadAsStringAsync());
            var id = manifest.RootElement.GetProperty("id").GetString();
            (await client.PostAsync($"/api/backups/{id}/link", null)).EnsureSuccessStatusCode();
        }

        // A data folder emptied of the database and everything named after it, marker included.
        var folder = Path.GetDirectoryName(Workspace.DatabasePath)!;
        foreach (var file in Directory.GetFiles(folder, "*corescope.db*"))
        {
            File.Delete(file);
        }

        var withBoth = () => CreateServer().CreateClient();
        withBoth.Should().Throw<StartupCheckFailedException>()
            .Which.Message.Should().Contain("holds stored backups").And.Contain("holds download-link keys");
        File.Exists(Workspace.DatabasePath).Should().BeFalse();

        // The link keys alone are enough.
        Directory.Delete(Path.Combine(folder, "backups"), recursive: true);
        var withKeys = () => CreateServer().CreateClient();
        withKeys.Should().Throw<StartupCheckFailedException>()
            .Which.Message.Should().Contain("holds download-link keys").And.NotContain("holds stored backups");
    }

    [Test]
    public async Task Start_WhenOnlyTheWalOfTheDatabaseIsLeft_Refuses()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Workspace.DatabasePath)!);
        await File.WriteAllBytesAsync(Workspace.DatabasePath + "-wal", new byte[4096]);
        var server = CreateServer();

        var start = () => server.CreateClient();

        start.Should().Throw<StartupCheckFailedException>().Which.Message.Should().Contain("corescope.db-wal");
        File.Exists(Workspace.DatabasePath).Should().BeFalse();
    }

    [Test]
    public async Task Start_InAnEmptyFolder_CreatesTheDatabaseAndItsMarker()
    {
        using var client = CreateServer().CreateClient();

        (await client.GetAsync("/api/health")).StatusCode.Should().Be(HttpStatusCode.OK);
        File.Exists(Workspace.DatabasePath).Should().BeTrue();
        (await File.ReadAllTextAsync(MarkerPath)).Should().Contain("refuses to start");
    }
}
