using CoreScope.Api.Tests.Restore;
using CoreScope.Data.Offsite.Signing;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// docs/offsite.md "Signed manifests": the server reads the signing keys at start, so a bad one ends the process with
/// one line and exit code 78, not the first copy or every restore hours later; a bad key is never quoted.
/// </summary>
public sealed class OffsiteSigningStartTests : WorkspaceTests
{
    [Test]
    public async Task Server_WithAPrivateSigningKeyFileThatIsNotThere_EndsWithOneLineAndExitCode78()
    {
        var missing = Path.Combine(Workspace.Root, "keys", "signing-PRIVATE.asc");

        var (exitCode, output, error) = await StartAsync((OffsiteSigningOptions.PrivateKeyFileSetting, missing));

        exitCode.Should().Be(78, output + error);
        error.TrimEnd().Split('\n').Should().ContainSingle().Which.Should().StartWith("CoreScope.Analyzer cannot start: ")
            .And.Contain(OffsiteSigningOptions.PrivateKeyFileSetting).And.Contain(missing).And.Contain("does not exist");
    }

    [Test]
    public async Task Server_WithAnHmacKeyTooShort_EndsWithOneLineAndExitCode78_WithoutTheKey()
    {
        var shortKey = Convert.ToBase64String("sixteen bytes!!!"u8.ToArray());

        var (exitCode, output, error) = await StartAsync((OffsiteSigningOptions.KeySetting, shortKey));

        exitCode.Should().Be(78, output + error);
        error.TrimEnd().Split('\n').Should().ContainSingle().Which.Should().Contain(OffsiteSigningOptions.KeySetting).And.Contain("at least 32 bytes");
        (output + error).Should().NotContain(shortKey);
    }

    private Task<(int ExitCode, string Output, string Error)> StartAsync((string Key, string Value) setting)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["CoreScope__Database__Path"] = Workspace.DatabasePath,
            ["CoreScope__Backup__TempDirectory"] = Workspace.BackupTempDirectory,
            [setting.Key.Replace(":", "__", StringComparison.Ordinal)] = setting.Value,
        };
        return ExternalTools.RunAsync("dotnet", [ServerProcess.ServerDll], environment, timeoutMs: 60_000);
    }
}
