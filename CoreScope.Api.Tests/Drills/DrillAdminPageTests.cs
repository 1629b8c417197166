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

    // The table is drawn again after every change (a drill, the key field losing focus), so an element found a moment
    // ago may be gone: every read finds it again, and a stale one is simply read once more.
    private T WaitFor<T>(Func<IWebDriver, T?> find, int seconds = 30)
    {
        var wait = new WebDriverWait(_browser, TimeSpan.FromSeconds(seconds));
        wait.IgnoreExceptionTypes(typeof(StaleElementReferenceException), typeof(NoSuchElementException));
        return wait.Until(find)!;
    }

    private string WaitForText(string selector, string text) =>
        WaitFor(driver => driver.FindElement(By.CssSelector(selector)).Text is var value && value.Contains(text, StringComparison.Ordinal) ? value : null);

    private static string Row(string id) => $"#backups tbody tr[data-id='{id}']";

    private void Click(string selector) => WaitFor(driver =>
    {
        driver.FindElement(By.CssSelector(selector)).Click();
        return "clicked";
    });

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
        WaitForText(Row(good.Id()) + " td.drill", "not drilled yet");
        WaitForText(Row(altered.Id()) + " td.drill", "not drilled yet");

        Click(Row(good.Id()) + " button.drill-stored");

        WaitForText(Row(good.Id()) + " td.drill", "verified restorable (");
        WaitForText("#stored-status", "is verified restorable");

        Click(Row(altered.Id()) + " button.drill-stored");

        WaitForText(Row(altered.Id()) + " td.drill", "drill failed (").Should().Contain("The stored file was changed on disk after it was written");
        WaitFor(driver => driver.FindElement(By.CssSelector(Row(altered.Id()) + " td.drill")).GetAttribute("class")).Should().Contain("failed");
        WaitForText("#stored-status", "The drill of " + altered.GetProperty("fileName").GetString() + " failed");
        WaitFor(driver => driver.FindElement(By.Id("stored-status")).GetAttribute("class")).Should().Contain("error");
        WaitForText(Row(altered.Id()) + " td.integrity", "damaged: modified");
        WaitForText(Row(good.Id()) + " td.drill", "verified restorable (");
        HeadlessChromium.ConsoleLines(_browser).Should().NotContain(line => line.StartsWith("SEVERE", StringComparison.Ordinal), "no script error, no failed request");
    }
}
