using System.Net.Sockets;

namespace CoreScope.Api.Tests.Operators;

/// <summary>docs/scripts/Backup-CoreScope.ps1 run by real pwsh against a real Kestrel on 127.0.0.1.</summary>
[Category("Slow")]
public sealed class PowerShellBackupScriptTests : WorkspaceTests
{
    private static readonly string Script = Path.Combine(ExternalTools.RepositoryRoot, "docs", "scripts", "Backup-CoreScope.ps1");

    private string _pwsh = null!;

    [SetUp]
    public async Task SetUp()
    {
        _pwsh = await ExternalTools.PwshAsync();
        await CreateDatabaseAsync(transmissions: 500);
    }

    private Task<(int ExitCode, string StandardOutput, string StandardError)> RunScriptAsync(
        Uri server, string? apiKey, params string[] arguments) =>
        ExternalTools.RunAsync(
            _pwsh,
            ["-NoProfile", "-NonInteractive", "-File", Script, "-BaseUrl", server.ToString(), "-OutDir", Workspace.DownloadDirectory, .. arguments],
            new Dictionary<string, string?> { ["CORESCOPE_API_KEY"] = apiKey });

    [Test]
    public async Task GoodRun_WithVerify_SavesAValidDatabaseUnderTheServersName()
    {
        var server = CreateServer().StartKestrel();

        var (exitCode, output, error) = await RunScriptAsync(server, CoreScopeApiFactory.StrongApiKey, "-Verify");

        exitCode.Should().Be(0, error);
        var saved = Directory.GetFiles(Workspace.DownloadDirectory).Should().ContainSingle().Subject;
        Path.GetFileName(saved).Should().MatchRegex("^corescope-backup-[0-9]+\\.db$");
        output.Trim().Should().Be(saved);
        TestDatabase.IntegrityCheck(saved).Should().Be("ok");
        TestDatabase.RowCounts(saved)["transmissions"].Should().Be(500);
    }

    [Test]
    public async Task Compress_SavesAGzipOfManyMembers_ThatPowerShellExpandsToTheDatabaseByteForByte()
    {
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 4_000, payloadBytes: 400);
        var factory = CreateServer();
        var server = factory.StartKestrel();

        var (exitCode, output, error) = await RunScriptAsync(server, CoreScopeApiFactory.StrongApiKey, "-Compress", "-Verify");

        exitCode.Should().Be(0, error);
        var saved = Directory.GetFiles(Workspace.DownloadDirectory).Should().ContainSingle().Subject;
        output.Trim().Should().Be(saved);
        Path.GetFileName(saved).Should().MatchRegex("^corescope-backup-[0-9]+\\.db\\.gz$");
        var gzip = await File.ReadAllBytesAsync(saved);
        gzip[..2].Should().Equal(0x1F, 0x8B);
        Backup.BackupGzipTests.CountMembers(gzip).Should().BeGreaterThan(1, "the server compressed in blocks");

        // The operator's way to unpack it (docs/operators.md), then the same snapshot uncompressed to compare with.
        var (expandCode, _, expandError) = await ExternalTools.RunAsync(_pwsh, ["-NoProfile", "-NonInteractive", "-Command", Backup.ParallelGzipTests.PowerShellExpand(saved)]);
        expandCode.Should().Be(0, expandError);
        using var client = factory.CreateOperatorClient();
        var reference = await client.GetByteArrayAsync("/api/backup");
        (await File.ReadAllBytesAsync(saved[..^3])).Should().Equal(reference);
        TestDatabase.IntegrityCheck(saved[..^3]).Should().Be("ok");
    }

    [Test]
    public async Task KeepTwo_AfterThreeRuns_LeavesTheNewestTwo()
    {
        var server = CreateServer().StartKestrel();
        var saved = new List<string>();

        for (var run = 0; run < 3; run++)
        {
            var (exitCode, output, error) = await RunScriptAsync(server, CoreScopeApiFactory.StrongApiKey, "-Keep", "2");
            exitCode.Should().Be(0, error);
            saved.Add(output.Trim());
        }

        Directory.GetFiles(Workspace.DownloadDirectory).Should().BeEquivalentTo(saved.Skip(1));
    }

    [Test]
    public async Task WrongKey_ExitsNonZeroWithOneLineReason()
    {
        var server = CreateServer().StartKestrel();

        var (exitCode, _, error) = await RunScriptAsync(server, "not-the-key-0123456789");

        exitCode.Should().Be(2);
        error.Trim().Should().StartWith("Backup-CoreScope: the API key was not accepted (401)").And.NotContain("\n");
        Directory.GetFiles(Workspace.DownloadDirectory).Should().BeEmpty("nothing half-written is left");
    }

    [Test]
    public async Task RateLimited_ExitsNonZeroSayingHowLongToWait()
    {
        var server = CreateServer(("CoreScope:Backup:PermitsPerMinute", "1")).StartKestrel();
        (await RunScriptAsync(server, CoreScopeApiFactory.StrongApiKey)).ExitCode.Should().Be(0);

        var (exitCode, _, error) = await RunScriptAsync(server, CoreScopeApiFactory.StrongApiKey);

        exitCode.Should().Be(4);
        error.Should().MatchRegex("too many backups \\(429\\): retry in [0-9]+ seconds");
        Directory.GetFiles(Workspace.DownloadDirectory).Should().ContainSingle();
    }

    [Test]
    public async Task NoKeyConfigured_And_NoServer_ExitNonZeroWithReasons()
    {
        var server = CreateServer(apiKey: null).StartKestrel();

        var refused = await RunScriptAsync(server, CoreScopeApiFactory.StrongApiKey);
        refused.ExitCode.Should().Be(3);
        refused.StandardError.Should().Contain("refused (403)").And.Contain("CoreScope__ApiKey");

        var closedPort = FreeLoopbackPort();
        var unreachable = await RunScriptAsync(new Uri($"http://127.0.0.1:{closedPort}"), CoreScopeApiFactory.StrongApiKey);
        unreachable.ExitCode.Should().Be(6);
        unreachable.StandardError.Should().Contain("cannot reach");

        var noKey = await RunScriptAsync(server, apiKey: null);
        noKey.ExitCode.Should().Be(2);
        noKey.StandardError.Should().Contain("CORESCOPE_API_KEY");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
