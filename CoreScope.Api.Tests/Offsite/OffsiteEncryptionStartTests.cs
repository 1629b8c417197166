using CoreScope.Api.Tests.Restore;
using CoreScope.Data.Offsite.Encryption;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// docs/offsite.md "Encryption", "What goes on the box": the server itself (not only the encryption module's host)
/// checks the public key at start, so a bad one ends the process with one line and exit code 78.
/// </summary>
public sealed class OffsiteEncryptionStartTests : WorkspaceTests
{
    [Test]
    public async Task Server_WithAPublicKeyFileThatIsNotThere_EndsWithOneLineAndExitCode78()
    {
        var missing = Path.Combine(Workspace.Root, "keys", "corescope-offsite.asc");
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["CoreScope__Database__Path"] = Workspace.DatabasePath,
            ["CoreScope__Backup__TempDirectory"] = Workspace.BackupTempDirectory,
            ["CoreScope__Offsite__Encrypt__PublicKeyFile"] = missing,
        };

        var (exitCode, output, error) = await ExternalTools.RunAsync("dotnet", [ServerProcess.ServerDll], environment, timeoutMs: 60_000);

        exitCode.Should().Be(78, output + error);
        error.TrimEnd().Split('\n').Should().ContainSingle().Which.Should().StartWith("CoreScope.Analyzer cannot start: ")
            .And.Contain(OffsiteEncryptionOptions.PublicKeyFileSetting).And.Contain(missing).And.Contain("does not exist");
    }
}
