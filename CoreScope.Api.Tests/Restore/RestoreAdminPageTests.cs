using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace CoreScope.Api.Tests.Restore;

/// <summary>docs/restore.md, "The admin page": restore a file, then undo it from the safety copy, in headless Chromium.</summary>
[Category("Slow")]
public sealed class RestoreAdminPageTests : WorkspaceTests
{
    private CoreScopeApiFactory _factory = null!;
    private Uri _server = null!;
    private ChromeDriver _browser = null!;

    [SetUp]
    public async Task SetUp()
    {
        HeadlessChromium.RequireInstalled();

        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 300);
        _factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        _server = _factory.StartKestrel();
        _browser = HeadlessChromium.Start(Workspace.DownloadDirectory, Path.Combine(Workspace.Root, "chromium-profile"));
    }

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

    [Test]
    public async Task RestoreAFile_AfterAConfirmationNamingWhatIsReplaced_ThenUndoItFromTheSafetyCopy()
    {
        using var client = _factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var backup = await RestoreFiles.DownloadBackupAsync(client, Path.Combine(Workspace.DownloadDirectory, "corescope-backup-1.db"));
        var backedUp = DatabaseContent.Read(backup);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 40);
        var beforeRestore = DatabaseContent.Read(Workspace.DatabasePath);
        OpenAdminPage();

        _browser.FindElement(By.Id("restore-file")).SendKeys(backup);
        _browser.FindElement(By.Id("restore-upload")).Click();
        var confirmation = WaitForAlert();
        confirmation.Text.Should().Contain("Replace the live database (340 transmissions")
            .And.Contain("with corescope-backup-1.db").And.Contain("safety copy").And.Contain("pre-restore");
        confirmation.Accept();

        var status = WaitForStatus("Restored corescope-backup-1.db");
        status.Text.Should().Contain("300 transmissions").And.Contain("Safety copy: ");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(backedUp, options => options.WithStrictOrdering());
        var safetyCopyId = _browser.FindElement(By.Id("restore-id")).GetAttribute("value");
        status.Text.Should().Contain(safetyCopyId, "the page offers the safety copy for the undo");
        using (var stored = JsonDocument.Parse(await client.GetStringAsync("/api/backups/" + safetyCopyId)))
        {
            stored.RootElement.GetProperty("trigger").GetString().Should().Be("pre-restore", "the safety copy is a stored backup");
        }

        _browser.FindElement(By.Id("restore-stored")).Click();
        var undo = WaitForAlert();
        undo.Text.Should().Contain("Replace the live database (300 transmissions").And.Contain("the stored backup " + safetyCopyId);
        undo.Accept();

        WaitForStatus("Restored the stored backup " + safetyCopyId).Text.Should().Contain("340 transmissions");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(beforeRestore, options => options.WithStrictOrdering());
    }

    [Test]
    public void RestoreAFileThatIsNotADatabase_ShowsThe422Reason_AndDeclinedConfirmationRestoresNothing()
    {
        var notADatabase = Path.Combine(Workspace.DownloadDirectory, "notes.db");
        File.WriteAllText(notADatabase, "not a database at all\n");
        var before = DatabaseContent.Read(Workspace.DatabasePath);
        OpenAdminPage();
        _browser.FindElement(By.Id("restore-file")).SendKeys(notADatabase);

        _browser.FindElement(By.Id("restore-upload")).Click();
        WaitForAlert().Dismiss();
        WaitForStatus("Nothing was restored.");

        _browser.FindElement(By.Id("restore-upload")).Click();
        WaitForAlert().Accept();
        var status = WaitForStatus("(422)");
        status.Text.Should().Contain("This file cannot be restored (422)").And.Contain("not a SQLite database");
        status.GetAttribute("class").Should().Contain("error");
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }

    private void OpenAdminPage()
    {
        _browser.Navigate().GoToUrl(new Uri(_server, "/admin"));
        _browser.FindElement(By.Id("api-key")).SendKeys(CoreScopeApiFactory.StrongApiKey);
    }

    private IAlert WaitForAlert() => new WebDriverWait(_browser, TimeSpan.FromSeconds(10)).Until(driver => driver.SwitchTo().Alert());

    private IWebElement WaitForStatus(string text) =>
        new WebDriverWait(_browser, TimeSpan.FromSeconds(60)).Until(driver =>
        {
            var element = driver.FindElement(By.Id("restore-status"));
            return element.Text.Contains(text, StringComparison.Ordinal) ? element : null;
        });
}
