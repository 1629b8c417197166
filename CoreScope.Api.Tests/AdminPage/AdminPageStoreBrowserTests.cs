using CoreScope.Api.Tests.Backup;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace CoreScope.Api.Tests.AdminPage;

/// <summary>The /admin page's stored backups in headless Chromium: list, back up now, download through a link, delete.</summary>
[Category("Slow")]
public sealed class AdminPageStoreBrowserTests : WorkspaceTests
{
    private CoreScopeApiFactory _factory = null!;
    private Uri _server = null!;
    private ChromeDriver _browser = null!;

    [SetUp]
    public void SetUp() => HeadlessChromium.RequireInstalled();

    [TearDown]
    public async Task TearDown()
    {
        _browser?.Quit();
        _browser?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    private void Start()
    {
        _factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        _server = _factory.StartKestrel();
        _browser = HeadlessChromium.Start(Workspace.DownloadDirectory, Path.Combine(Workspace.Root, "chromium-profile"));
        _browser.Navigate().GoToUrl(new Uri(_server, "/admin"));
        _browser.FindElement(By.Id("api-key")).SendKeys(CoreScopeApiFactory.StrongApiKey);
    }

    private IWebElement WaitFor(Func<IWebDriver, IWebElement?> find, int seconds = 30) =>
        new WebDriverWait(_browser, TimeSpan.FromSeconds(seconds)).Until(find)!;

    private IWebElement WaitForStatus(string id, string text, int seconds = 30) =>
        WaitFor(driver => driver.FindElement(By.Id(id)) is var element && element.Text.Contains(text, StringComparison.Ordinal) ? element : null, seconds);

    private System.Collections.ObjectModel.ReadOnlyCollection<IWebElement> Rows() => _browser.FindElements(By.CssSelector("#backups tbody tr"));

    private async Task<JsonElement> ListAsync()
    {
        using var client = _factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        return (await StoredBackups.ListAsync(client)).GetProperty("backups");
    }

    [Test]
    public async Task StoredBackups_BackUpNow_ListDownloadThroughALink_AndDeleteAfterConfirming()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 300);
        Start();

        _browser.FindElement(By.Id("store-now")).Click();

        WaitForStatus("stored-status", "Stored corescope-backup-");
        var row = WaitFor(driver => driver.FindElements(By.CssSelector("#backups tbody tr")).SingleOrDefault());
        var cells = row.FindElements(By.TagName("td")).Select(cell => cell.Text).ToList();
        cells[2].Should().Be("manual");
        cells[3].Should().Be("300 transmissions, 600 observations");
        cells[4].Should().Be("ok");
        var manifest = (await ListAsync()).EnumerateArray().Single();
        cells[1].Should().Be($"{manifest.GetProperty("sizeBytes").GetInt64() / 1048576.0:0.0} MB");

        row.FindElement(By.CssSelector("button.download-stored")).Click();
        var saved = await HeadlessChromium.WaitForDownloadAsync(Workspace.DownloadDirectory, TimeSpan.FromSeconds(30));
        Path.GetFileName(saved).Should().Be(manifest.GetProperty("fileName").GetString());
        StoredBackups.HashFile(saved).Should().Be(manifest.Sha256());

        row.FindElement(By.CssSelector("button.delete-stored")).Click();
        var question = new WebDriverWait(_browser, TimeSpan.FromSeconds(10)).Until(driver => driver.SwitchTo().Alert());
        question.Text.Should().Contain(manifest.GetProperty("fileName").GetString()).And.Contain("cannot be undone");
        question.Dismiss();
        WaitForStatus("stored-status", "Nothing was deleted.");
        (await ListAsync()).GetArrayLength().Should().Be(1);

        Rows().Single().FindElement(By.CssSelector("button.delete-stored")).Click();
        new WebDriverWait(_browser, TimeSpan.FromSeconds(10)).Until(driver => driver.SwitchTo().Alert()).Accept();
        WaitForStatus("stored-status", "Deleted corescope-backup-");
        WaitFor(driver => driver.FindElement(By.Id("backups-empty")) is var empty && empty.Displayed ? empty : null);
        (await ListAsync()).GetArrayLength().Should().Be(0);
    }

    [Test]
    public async Task DownloadButton_A210MegabyteBackup_LandsOnDiskIntact()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 100);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("""
                CREATE TABLE ballast (bytes BLOB);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 210) INSERT INTO ballast SELECT randomblob(1048576) FROM n;
                """);
        }

        Start();

        _browser.FindElement(By.Id("download")).Click();

        WaitForStatus("backup-status", "Your browser is saving corescope-backup-", seconds: 120);
        var saved = await HeadlessChromium.WaitForDownloadAsync(Workspace.DownloadDirectory, TimeSpan.FromSeconds(180));
        var manifest = (await ListAsync()).EnumerateArray().Single();
        new FileInfo(saved).Length.Should().Be(manifest.GetProperty("sizeBytes").GetInt64()).And.BeGreaterThan(210L * 1024 * 1024);
        StoredBackups.HashFile(saved).Should().Be(manifest.Sha256());
        TestDatabase.RowCounts(saved)["ballast"].Should().Be(210);
    }
}
