using System.Diagnostics;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>
/// The real programs operators use, found or installed by the tests themselves so that <c>dotnet test</c> on a
/// fresh clone needs nothing else: PowerShell as a dotnet tool under <c>.tools/</c>, Debian's Chromium,
/// ChromeDriver and GnuPG (installed by <c>.ci/setup</c>).
/// </summary>
public static class ExternalTools
{
    public const string PowerShellVersion = "7.6.9";

    private static readonly Lazy<Task<string>> PowerShell = new(InstallPowerShellAsync);

    public static string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>The path of <c>pwsh</c>, installed on first use.</summary>
    public static Task<string> PwshAsync() => PowerShell.Value;

    public static string? Chromium => FirstExisting("/usr/bin/chromium", "/usr/bin/chromium-browser");

    public static string? ChromeDriver => FirstExisting("/usr/bin/chromedriver");

    public static string? Gpg => FirstExisting("/usr/bin/gpg");

    /// <summary>Runs a program to its end with a bound on its time; returns its exit code and what it printed.</summary>
    public static async Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(
        string fileName, IEnumerable<string> arguments, IDictionary<string, string?>? environment = null, int timeoutMs = 120_000)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start " + fileName);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(timeoutMs);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} did not finish within {timeoutMs} ms.");
        }

        return (process.ExitCode, await output, await error);
    }

    private static async Task<string> InstallPowerShellAsync()
    {
        var toolPath = Path.Combine(RepositoryRoot, ".tools", "pwsh");
        var pwsh = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "pwsh.exe" : "pwsh");
        if (!File.Exists(pwsh))
        {
            var (exitCode, output, error) = await RunAsync("dotnet",
                ["tool", "install", "PowerShell", "--version", PowerShellVersion, "--tool-path", toolPath], timeoutMs: 300_000);
            if (exitCode != 0 && !File.Exists(pwsh))
            {
                throw new InvalidOperationException($"Installing PowerShell {PowerShellVersion} failed: {output}{error}");
            }
        }

        return pwsh;
    }

    private static string? FirstExisting(params string[] paths) => paths.FirstOrDefault(File.Exists);

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CoreScope.Analyzer.sln")))
            {
                return folder.FullName;
            }
        }

        throw new DirectoryNotFoundException("Could not find the repository root above " + AppContext.BaseDirectory);
    }
}
