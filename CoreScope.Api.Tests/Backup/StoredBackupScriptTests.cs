
namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/scripts/Backup-CoreScope.ps1 -Stored, run by real pwsh against a real Kestrel: the newest stored backup, resumed.</summary>
[Category("Slow")]
public sealed class StoredBackupScriptTests : WorkspaceTests
{
    private static readonly string Script = Path.Combine(ExternalTools.RepositoryRoot, "docs", "scripts", "Backup-CoreScope.ps1");

    private string _pwsh = null!;

    [SetUp]
    public async Task SetUp()
    {
        _pwsh = await ExternalTools.PwshAsync();
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 3_000, payloadBytes: 400);
    }

    private Task<(int ExitCode, string StandardOutput, string StandardError)> RunScriptAsync(Uri server, params string[] arguments) =>
        ExternalTools.RunAsync(
            _pwsh,
            ["-NoProfile", "-NonInteractive", "-File", Script, "-BaseUrl", server.ToString(), "-OutDir", Workspace.DownloadDirectory, "-Stored", .. arguments],
            new Dictionary<string, string?> { ["CORESCOPE_API_KEY"] = CoreScopeApiFactory.StrongApiKey });

    [Test]
    public async Task Stored_ResumesTheNewestStoredBackupFromACutRun_AndDoesNotFetchItTwice()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        var server = factory.StartKestrel();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await StoredBackups.StoreAsync(client);
        var newest = await StoredBackups.StoreAsync(client);
        var name = newest.GetProperty("fileName").GetString()!;
        var stored = await File.ReadAllBytesAsync(Path.Combine(StoredBackups.DefaultFolder(Workspace.DatabasePath), name));

        // What a run cut off half-way leaves behind.
        var half = stored.Length / 2;
        await File.WriteAllBytesAsync(Path.Combine(Workspace.DownloadDirectory, name + ".partial"), stored[..half]);

        var (exitCode, output, error) = await RunScriptAsync(server);

        exitCode.Should().Be(0, error);
        var saved = Path.Combine(Workspace.DownloadDirectory, name);
        output.Trim().Should().Be(saved);
        Directory.GetFiles(Workspace.DownloadDirectory).Should().Equal(saved);
        StoredBackups.HashFile(saved).Should().Be(newest.Sha256());
        factory.Logs.Lines.Should().ContainSingle(line => line.Message.StartsWith("Backup audit:", StringComparison.Ordinal))
            .Which.Message.Should().Contain($"status=206 bytes={stored.Length - half} ").And.Contain($"range=bytes={half}-");

        var again = await RunScriptAsync(server);

        again.ExitCode.Should().Be(0, again.StandardError);
        again.StandardOutput.Trim().Should().Be(saved);
        factory.Logs.Lines.Count(line => line.Message.StartsWith("Backup audit:", StringComparison.Ordinal)).Should().Be(1, "it is there already");
    }

    [Test]
    public async Task Stored_WithNothingStored_ExitsEightWithTheReason()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        var server = factory.StartKestrel();

        var (exitCode, _, error) = await RunScriptAsync(server);

        exitCode.Should().Be(8);
        error.Trim().Should().StartWith("Backup-CoreScope: the server keeps no good stored backup yet").And.NotContain("\n");
    }
}
