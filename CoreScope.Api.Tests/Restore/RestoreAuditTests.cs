
namespace CoreScope.Api.Tests.Restore;

/// <summary>docs/restore.md, "Audit log": one line per restore request, whatever became of it, never the key.</summary>
public sealed class RestoreAuditTests : WorkspaceTests
{
    [Test]
    public async Task EveryRestoreRequest_WritesOneAuditLine_WithOutcomeAndBytes_AndNeverTheKey()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 50);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        using var wrongKey = factory.CreateClient("wrong-key-0123456789abcdef-zz");
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));
        var length = new FileInfo(backup).Length;

        (await RestoreFiles.PostRestoreAsync(client, backup)).StatusCode.Should().Be(HttpStatusCode.OK);
        (await RestoreFiles.PostRestoreAsync(client, backup, "?dryRun=true")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.PostAsync("/api/admin/restore", RestoreFiles.Body([]))).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await RestoreFiles.PostRestoreAsync(wrongKey, backup)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await client.PostAsync("/api/admin/restore?from=nothing-here", null)).StatusCode.Should().Be(HttpStatusCode.NotFound);

        // The line is written when the response has completed, a moment after the client has it.
        var lines = await AuditLinesAsync(factory, 5);
        lines.Should().HaveCount(5);
        lines.Should().AllSatisfy(line =>
        {
            line.Category.Should().Be("CoreScope.Api.Restore.RestoreAuditMiddleware");
            line.Message.Should().Contain("client=").And.Contain("totalMs=").And.Contain("bytes=");
            line.Message.Should().NotContain(CoreScopeApiFactory.StrongApiKey).And.NotContain("wrong-key-0123456789abcdef-zz");
        });
        // Each line is written when its response has completed, so two requests close together may log in either order.
        foreach (var expected in new[]
        {
            "outcome=restored status=200 source=upload bytes=" + length + " ",
            "outcome=checked status=200 source=upload bytes=" + length + " ",
            "outcome=refused status=400 source=upload bytes=0 ",
            "outcome=denied status=401",
            "outcome=refused status=404 source=stored bytes=0 ",
        })
        {
            lines.Should().ContainSingle(line => line.Message.Contains(expected, StringComparison.Ordinal), expected);
        }

        factory.Logs.Lines.Should().NotContain(line => line.Message.Contains(CoreScopeApiFactory.StrongApiKey, StringComparison.Ordinal));
    }

    public static async Task<List<(string Category, string Message)>> AuditLinesAsync(CoreScopeApiFactory factory, int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var lines = factory.Logs.Lines.Where(line => line.Message.StartsWith("Restore audit:", StringComparison.Ordinal)).ToList();
            if (lines.Count >= expected || DateTime.UtcNow > deadline)
            {
                return lines;
            }

            await Task.Delay(20);
        }
    }
}
