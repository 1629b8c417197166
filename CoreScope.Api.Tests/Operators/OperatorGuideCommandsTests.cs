using System.Net.Http.Json;
using System.Text.RegularExpressions;

namespace CoreScope.Api.Tests.Operators;

/// <summary>
/// Runs the shell blocks of docs/operators.md, as written, against a real server: the ones marked
/// <c>&lt;!-- run: server --&gt;</c> while it runs, <c>stopped</c> after it stopped, <c>restarted</c> after a new
/// start on the same file. A guide whose commands stopped working fails here.
/// </summary>
[Category("Slow")]
public sealed partial class OperatorGuideCommandsTests : WorkspaceTests
{
    private static readonly string Guide = Path.Combine(ExternalTools.RepositoryRoot, "docs", "operators.md");

    [GeneratedRegex(@"<!-- run: (?<phase>[a-z]+) -->\s*```bash\n(?<script>.*?)```", RegexOptions.Singleline)]
    private static partial Regex RunnableBlock();

    [Test]
    public async Task EveryShellBlockOfTheGuide_RunsAsWritten_AndTheRestoreBringsTheBackupBack()
    {
        if (!File.Exists("/usr/bin/curl") || !File.Exists("/usr/bin/sqlite3"))
        {
            Assert.Fail("curl and sqlite3 are needed (apt-get install -y curl sqlite3; .ci/setup does it).");
        }

        var blocks = RunnableBlock().Matches(await File.ReadAllTextAsync(Guide))
            .Select(match => (Phase: match.Groups["phase"].Value, Script: match.Groups["script"].Value))
            .ToList();
        blocks.Select(block => block.Phase).Distinct().Should().Equal("server", "stopped", "restarted");

        await CreateDatabaseAsync(transmissions: 200);
        var pwsh = await ExternalTools.PwshAsync();
        var environment = new Dictionary<string, string?>
        {
            ["CORESCOPE_API_KEY"] = CoreScopeApiFactory.StrongApiKey,
            ["CORESCOPE_DB"] = Workspace.DatabasePath,
            ["BACKUP_DIR"] = Workspace.DownloadDirectory,
            ["PATH"] = Path.GetDirectoryName(pwsh) + ":" + Environment.GetEnvironmentVariable("PATH"),
        };

        // Servers of their own scope, not CreateServer's: the "stopped" blocks run between the first and the second.
        await using (var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey))
        {
            environment["CORESCOPE_URL"] = factory.StartKestrel().ToString().TrimEnd('/');
            foreach (var block in blocks.Where(block => block.Phase == "server"))
            {
                await RunBlockAsync(block.Script, environment);
            }

            // A packet stored after the backups: the restore must take the database back to before it.
            using var client = factory.CreateOperatorClient();
            (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert })).EnsureSuccessStatusCode();
            TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(201);
        }

        Directory.GetFiles(Path.Combine(Workspace.DownloadDirectory, "ps")).Should().ContainSingle(file => file.EndsWith(".db", StringComparison.Ordinal));

        foreach (var block in blocks.Where(block => block.Phase == "stopped"))
        {
            (await RunBlockAsync(block.Script, environment)).Should().Contain("ok");
        }

        await using (var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey))
        {
            environment["CORESCOPE_URL"] = factory.StartKestrel().ToString().TrimEnd('/');
            var output = string.Concat(await Task.WhenAll(blocks.Where(block => block.Phase == "restarted").Select(block => RunBlockAsync(block.Script, environment))));
            output.Should().Contain("\"status\":\"ok\"").And.Contain("\"totalTransmissions\":200").And.Contain("wal\nok");
        }
    }

    private static async Task<string> RunBlockAsync(string script, IDictionary<string, string?> environment)
    {
        var (exitCode, output, error) = await ExternalTools.RunAsync(
            "bash", ["-euo", "pipefail", "-c", "cd " + QuoteForBash(ExternalTools.RepositoryRoot) + "\n" + script], environment);
        exitCode.Should().Be(0, $"the guide's block\n{script}\nfailed:\n{output}\n{error}");
        if (script.Contains("integrity_check", StringComparison.Ordinal))
        {
            output.Should().Contain("ok");
        }

        if (script.Contains("sha256sum", StringComparison.Ordinal))
        {
            output.Should().Contain("checksum ok");
        }

        return output;
    }

    private static string QuoteForBash(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
