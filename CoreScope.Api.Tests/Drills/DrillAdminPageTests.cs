using CoreScope.Api.Tests.Backup;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace CoreScope.Api.Tests.Drills;

/// <summary>The /admin page's restore drills in headless Chromium: "not drilled yet", the Drill button, "verified restorable", the problem.</summary>
[Category("Slow")]
public sealed class DrillAdminPageTests : WorkspaceTests
{
    private ChromeDriver _browser = null!;

    [SetUp]
    public void SetUp() => HeadlessChromium.RequireInstalled();

    [TearDown]
    public void TearDown()
    {
        _browser?.Quit();
        _browser?.Dispose();
    }

    private IWebElement WaitFor(Func<IWebDriver, IWebElement?> find, int seconds = 30) =>
        new WebDriverWait(_browser, TimeSpan.FromSeconds(seconds)).Until(find)!;

    private IWebElement DrillCell(string id) =>
        _browser.FindElement(By.CssSelector($"#backups tbody tr[data-id='{id}'] td.drill"));

    private IWebElement WaitForDrillCell(string id, string text) =>
        WaitFor(_ => DrillCell(id) is var cell && cell.Text.Contains(text, StringComparison.Ordinal) ? cell : null);

    [Test]
    public async Task DrillButton_GoodBackupShowsVerifiedRestorable_AlteredBackupShowsTheProblem()
    {
        await CreateDatabaseAsync(transmissions: 150);
        var server = CreateServer();
        var address = server.StartKestrel();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var altered = await StoredBackups.StoreAsync(client);
        var good = await StoredBackups.StoreAsync(client);
        var file = Path.Combine(StoredBackups.DefaultFolder(Workspace.DatabasePath), altered.GetProperty("fileName").GetString()!);
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);

        _browser = HeadlessChromium.Start(Workspace.DownloadDirectory, Path.Combine(Workspace.Root, "chromium-profile"));
        _browser.Navigate().GoToUrl(new Uri(address, "/admin"));
        _browser.FindElement(By.Id("api-key")).SendKeys(CoreScopeApiFactory.StrongApiKey);
        _browser.FindElement(By.Id("refresh-backups")).Click();
        WaitForDrillCell(good.Id(), "not drilled yet");
        DrillCell(altered.Id()).Text.Should().Be("not drilled yet");

        _browser.FindElement(By.CssSelector($"#backups tbody tr[data-id='{good.Id()}'] button.drill-stored")).Click();

        WaitForDrillCell(good.Id(), "verified restorable (");
        WaitFor(driver => driver.FindElement(By.Id("stored-status")) is var status && status.Text.Contains("is verified restorable", StringComparison.Ordinal) ? status : null);

        _browser.FindElement(By.CssSelector($"#backups tbody tr[data-id='{altered.Id()}'] button.drill-stored")).Click();

        var failed = WaitForDrillCell(altered.Id(), "drill failed (");
        failed.Text.Should().Contain("The stored file was changed on disk after it was written");
        failed.GetAttribute("class").Should().Contain("failed");
        WaitFor(driver => driver.FindElement(By.Id("stored-status")) is var status && status.Text.Contains("failed", StringComparison.Ordinal) ? status : null)
            .GetAttribute("class").Should().Contain("error");
        _browser.FindElement(By.CssSelector($"#backups tbody tr[data-id='{altered.Id()}'] td.integrity")).Text.Should().Be("damaged: modified");
        DrillCell(good.Id()).Text.Should().StartWith("verified restorable (");
        HeadlessChromium.ConsoleLines(_browser).Should().NotContain(line => line.StartsWith("SEVERE", StringComparison.Ordinal), "no script error, no failed request");
    }
}
