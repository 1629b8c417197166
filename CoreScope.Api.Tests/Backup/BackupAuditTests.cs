namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/backup.md, "Audit log": one line per backup request with its outcome, and never the key.</summary>
public sealed class BackupAuditTests : WorkspaceTests
{
    [Test]
    public async Task Backup_WritesOneAuditLinePerRequest_AndNeverTheKey()
    {
        await CreateDatabaseAsync(transmissions: 20);
        var server = CreateServer();
        using var operatorClient = server.CreateOperatorClient();
        using var stranger = server.CreateClient("a-guess-at-the-key-0123456789");

        var sent = await operatorClient.GetAsync("/api/backup");
        var body = await sent.Content.ReadAsByteArrayAsync();
        (await stranger.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await operatorClient.GetAsync("/api/backup?compress=zip")).StatusCode.Should().Be(HttpStatusCode.BadRequest);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);

        // The line is written when the response has completed, which may be a moment after the client has it.
        List<string> audit = [];
        for (var wait = 0; wait < 100 && audit.Count < 3; wait++, await Task.Delay(50))
        {
            audit = server.Logs.Lines.Where(line => line.Message.StartsWith("Backup audit:", StringComparison.Ordinal))
                .Select(line => line.Message).ToList();
        }

        audit.Should().HaveCount(3);
        audit.Should().ContainSingle(line => line.Contains("outcome=sent") && line.Contains("status=200") && line.Contains($"bytes={body.Length}"))
            .Which.Should().MatchRegex("snapshotMs=[0-9]+ totalMs=[0-9]+");
        audit.Should().ContainSingle(line => line.Contains("outcome=denied") && line.Contains("status=401") && line.Contains("snapshotMs=-"));
        audit.Should().ContainSingle(line => line.Contains("outcome=failed") && line.Contains("status=400"));
        server.Logs.Lines.Should().NotContain(line =>
            line.Message.Contains(CoreScopeApiFactory.StrongApiKey, StringComparison.Ordinal) ||
            line.Message.Contains("a-guess-at-the-key", StringComparison.Ordinal));
    }

    [Test]
    public async Task StoredDownload_IsAuditedByRouteAndId_AndAnIdThatIsNoIdWritesNeitherItNorALineOfItsOwn()
    {
        await CreateDatabaseAsync(transmissions: 20);
        var server = CreateServer();
        using var operatorClient = server.CreateOperatorClient();
        using var stranger = server.CreateClient(key: null);
        var manifest = await StoredBackups.StoreAsync(operatorClient);

        (await operatorClient.GetAsync($"/api/backups/{manifest.Id()}/file")).StatusCode.Should().Be(HttpStatusCode.OK);
        var forged = "x%0Ainfo: Backup audit: client=10.0.0.1 outcome=sent status=200" + new string('z', 3000);
        (await stranger.GetAsync($"/api/backups/{forged}/file")).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        await server.Logs.WaitForAsync("Backup audit:", count: 2);

        var audit = server.Logs.Lines.Select(line => line.Message).Where(line => line.Contains("Backup audit:", StringComparison.Ordinal)).ToList();
        audit.Should().HaveCount(2, "the forged text is not a line of its own");
        audit.Should().ContainSingle(line => line.Contains("outcome=sent") && line.Contains($"route=/api/backups/{{id}}/file backup={manifest.Id()} "));
        audit.Should().ContainSingle(line => line.Contains("outcome=denied") && line.Contains("backup=(not-an-id) "))
            .Which.Should().NotContain("client=10.0.0.1").And.NotContain("zzz");
    }
}
