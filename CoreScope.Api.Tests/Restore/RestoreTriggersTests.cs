namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// docs/restore.md, "Triggers": a restored file's triggers never run before it is accepted; the ones the live database
/// does not have are refused, or dropped from the copy with <c>?dropTriggers=true</c>.
/// </summary>
public sealed class RestoreTriggersTests : WorkspaceTests
{
    [SetUp]
    public Task CreateDatabase() => CreateDatabaseAsync(transmissions: 60);

    private async Task<string> DownloadAsync(HttpClient client) =>
        await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));

    [Test]
    public async Task Restore_WithDropTriggers_DropsTheOnesTheLiveDatabaseDoesNotHave_BeforeAnyRan_AndNamesThem()
    {
        using var client = CreateServer().CreateClient(CoreScopeApiFactory.StrongApiKey);
        var triggered = RestoreFiles.Edited(
            await DownloadAsync(client), Path.Combine(Workspace.DownloadDirectory, "triggers.db"), RestoreFiles.ForeignTriggersSql);

        using var response = await RestoreFiles.PostRestoreAsync(client, triggered, "?dropTriggers=true");

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("triggersDropped").EnumerateArray().Select(name => name.GetString()).Should().Equal("fail_schema_step", "mark_ingest");
        answer.GetProperty("schemaStepsApplied").EnumerateArray().Select(name => name.GetString()).Should()
            .Equal(["corescope_packets_view_v1"], "the step wrote into _migrations, where fail_schema_step would have stopped it");
        RestoreFiles.Triggers(Workspace.DatabasePath).Should().BeEmpty();
        using (var ingest = await RestoreFiles.IngestAsync(client))
        {
            ingest.StatusCode.Should().Be(HttpStatusCode.OK, await ingest.Content.ReadAsStringAsync());
        }

        RestoreFiles.Markers(Workspace.DatabasePath).Should().Be(0);
    }

    [Test]
    public async Task Restore_AsADryRunWithDropTriggers_NamesThem_AndChangesNothing()
    {
        using var client = CreateServer().CreateClient(CoreScopeApiFactory.StrongApiKey);
        var triggered = RestoreFiles.Edited(
            await DownloadAsync(client), Path.Combine(Workspace.DownloadDirectory, "triggers.db"), RestoreFiles.ForeignTriggersSql);
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        using var response = await RestoreFiles.PostRestoreAsync(client, triggered, "?dryRun=true&dropTriggers=true");

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("triggersDropped").GetArrayLength().Should().Be(2);
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    [Test]
    public async Task ATriggerTheLiveDatabaseAlsoHas_IsKept_ButDidNotRunDuringTheChecks()
    {
        // The operator's own trigger: it would stop the schema step the older backup needs, had it run on the staged copy.
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("CREATE TRIGGER operators_own BEFORE INSERT ON _migrations BEGIN SELECT RAISE(ABORT, 'the trigger ran'); END;");
        }

        using var client = CreateServer().CreateClient(CoreScopeApiFactory.StrongApiKey);
        var older = RestoreFiles.Edited(await DownloadAsync(client), Path.Combine(Workspace.DownloadDirectory, "older.db"),
            "DELETE FROM _migrations WHERE name = 'corescope_packets_view_v1';");

        using var response = await RestoreFiles.PostRestoreAsync(client, older);

        var answer = await RestoreFiles.ReadJsonAsync(response, HttpStatusCode.OK);
        answer.GetProperty("schemaStepsApplied").EnumerateArray().Select(name => name.GetString()).Should().Equal("corescope_packets_view_v1");
        answer.GetProperty("triggersDropped").GetArrayLength().Should().Be(0);
        RestoreFiles.Triggers(Workspace.DatabasePath).Should().Equal("operators_own");
    }
}
