using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>
/// Debian's headless Chromium through Debian's ChromeDriver, saving downloads into a given folder and keeping the
/// page's console (where Content-Security-Policy reports land).
/// </summary>
public static class HeadlessChromium
{
    /// <summary>Fails under CI and skips elsewhere when Chromium or ChromeDriver is missing.</summary>
    public static void RequireInstalled()
    {
        if (ExternalTools.Chromium is null || ExternalTools.ChromeDriver is null)
        {
            const string missing = "Chromium and ChromeDriver are not installed (apt-get install -y chromium chromium-driver; .ci/setup does it).";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(missing);
            }

            Assert.Ignore(missing);
        }
    }

    public static ChromeDriver Start(string downloads, string profile)
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(ExternalTools.ChromeDriver)!, Path.GetFileName(ExternalTools.ChromeDriver)!);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = ExternalTools.Chromium };
        options.AddArguments(
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--user-data-dir=" + profile);
        options.SetLoggingPreference(LogType.Browser, OpenQA.Selenium.LogLevel.All);
        options.AddUserProfilePreference("download.default_directory", downloads);
        options.AddUserProfilePreference("download.prompt_for_download", false);
        var browser = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
        browser.ExecuteCdpCommand("Browser.setDownloadBehavior", new Dictionary<string, object?>
        {
            ["behavior"] = "allow",
            ["downloadPath"] = downloads,
        });
        return browser;
    }

    /// <summary>Waits for exactly one finished file (no <c>.crdownload</c>) in <paramref name="folder"/>.</summary>
    public static async Task<string> WaitForDownloadAsync(string folder, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var files = Directory.GetFiles(folder);
            if (files.Length == 1 && !files[0].EndsWith(".crdownload", StringComparison.Ordinal) && !files[0].EndsWith(".tmp", StringComparison.Ordinal))
            {
                return files[0];
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Chromium saved no file in {folder}: {string.Join(", ", Directory.GetFiles(folder))}");
    }

    /// <summary>What the page wrote to the console since the last call, Content-Security-Policy reports among it.</summary>
    public static IReadOnlyList<string> ConsoleLines(IWebDriver browser) =>
        browser.Manage().Logs.GetLog(LogType.Browser).Select(entry => $"{entry.Level}: {entry.Message}").ToList();
}
