using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// docs/restore.md, "The safety copy": a restore's copy of what it replaces is a stored backup with trigger
/// <c>pre-restore</c>, so it is listed and served like the others, and retention keeps it for 24 hours, then treats it
/// like any other backup instead of letting safety copies pile up.
/// </summary>
public sealed class RestoreSafetyCopyTests : WorkspaceTests
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 6, 1, 10, 0, 0, TimeSpan.Zero));

    [Test]
    public async Task SafetyCopy_IsListedAsAStoredBackup_AndRetentionRemovesItAfterADay()
    {
        await CreateDatabaseAsync(transmissions: 50);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, new Dictionary<string, string?>
        {
            ["CoreScope:Backup:Retention:KeepLast"] = "1",
        })
        {
            ConfigureServices = services => services.AddSingleton<TimeProvider>(_clock),
        };
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 10);
        var beforeRestore = DatabaseContent.Read(Workspace.DatabasePath);

        _clock.Advance(TimeSpan.FromMinutes(1));
        using var restore = await RestoreFiles.PostRestoreAsync(client, backup);
        var safetyCopyId = (await RestoreFiles.ReadJsonAsync(restore, HttpStatusCode.OK)).GetProperty("preRestoreBackupId").GetString()!;

        using (var listed = JsonDocument.Parse(await client.GetStringAsync("/api/backups")))
        {
            var entry = listed.RootElement.GetProperty("backups").EnumerateArray().Should()
                .ContainSingle(item => item.GetProperty("id").GetString() == safetyCopyId).Subject;
            entry.GetProperty("trigger").GetString().Should().Be("pre-restore");
            entry.GetProperty("status").GetString().Should().Be("ok");
        }

        using (var file = await client.GetAsync($"/api/backups/{safetyCopyId}/file"))
        {
            file.StatusCode.Should().Be(HttpStatusCode.OK, "a safety copy is served like any stored backup");
            var downloaded = Path.Combine(Workspace.DownloadDirectory, "safety-copy.db");
            await File.WriteAllBytesAsync(downloaded, await file.Content.ReadAsByteArrayAsync());
            DatabaseContent.Read(downloaded).Should().BeEquivalentTo(beforeRestore, options => options.WithStrictOrdering());
        }

        // Within the day a new backup does not push it out, though KeepLast is 1.
        _clock.Advance(TimeSpan.FromHours(23));
        (await client.PostAsync("/api/backups", null)).StatusCode.Should().Be(HttpStatusCode.Created);
        (await StoredIdsAsync(client)).Should().Contain(safetyCopyId);

        // A day later it is a backup like any other, and KeepLast 1 keeps only the newest.
        _clock.Advance(TimeSpan.FromHours(2));
        using var newest = await client.PostAsync("/api/backups", null);
        var newestId = (await RestoreFiles.ReadJsonAsync(newest, HttpStatusCode.Created)).GetProperty("id").GetString();
        (await StoredIdsAsync(client)).Should().Equal(newestId);
        File.Exists(RestoreFiles.StoredFile(Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, "backups"), safetyCopyId)).Should().BeFalse();
    }

    private static async Task<List<string?>> StoredIdsAsync(HttpClient client)
    {
        using var listed = JsonDocument.Parse(await client.GetStringAsync("/api/backups"));
        return listed.RootElement.GetProperty("backups").EnumerateArray().Select(item => item.GetProperty("id").GetString()).ToList();
    }
}
