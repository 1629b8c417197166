using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace CoreScope.Api.Tests.AdminPage;

/// <summary>The /admin page in Debian's headless Chromium, driven through Debian's ChromeDriver.</summary>
[Category("Slow")]
public sealed class AdminPageBrowserTests : WorkspaceTests
{
    private Uri _server = null!;
    private ChromeDriver _browser = null!;

    [SetUp]
    public async Task SetUp()
    {
        HeadlessChromium.RequireInstalled();

        await CreateDatabaseAsync(transmissions: 300);
        _server = CreateServer().StartKestrel();
        _browser = HeadlessChromium.Start(Workspace.DownloadDirectory, Path.Combine(Workspace.Root, "chromium-profile"));
    }

    [TearDown]
    public void TearDown()
    {
        _browser?.Quit();
        _browser?.Dispose();
    }

    [Test]
    public void DownloadButton_SavesAValidDatabase()
    {
        OpenAdminPage(CoreScopeApiFactory.StrongApiKey);

        _browser.FindElement(By.Id("download")).Click();

        WaitForStatus("backup-status", "Your browser is saving corescope-backup-");
        var saved = WaitForDownload();
        Path.GetFileName(saved).Should().MatchRegex("^corescope-backup-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\\.db$");
        TestDatabase.IntegrityCheck(saved).Should().Be("ok");
        TestDatabase.RowCounts(saved)["transmissions"].Should().Be(300);
    }

    [Test]
    public async Task DownloadButton_WithCompress_SavesAGzipOfManyMembers_ThatUnpacksToTheDatabaseByteForByte()
    {
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 4_000, payloadBytes: 400);
        OpenAdminPage(CoreScopeApiFactory.StrongApiKey);
        _browser.FindElement(By.Id("compress")).Click();

        _browser.FindElement(By.Id("download")).Click();

        WaitForStatus("backup-status", "Your browser is saving corescope-backup-");
        var saved = WaitForDownload();
        Path.GetFileName(saved).Should().MatchRegex("^corescope-backup-[0-9]{8}T[0-9]{6}Z-[0-9a-f]{6}\\.db\\.gz$");
        var gzip = await File.ReadAllBytesAsync(saved);
        Backup.BackupGzipTests.CountMembers(gzip).Should().BeGreaterThan(1, "the server compressed the stored backup in blocks");

        // Nothing wrote since: the same snapshot (VACUUM INTO is deterministic) uncompressed is what the file must unpack to.
        using var client = new HttpClient { BaseAddress = _server };
        client.DefaultRequestHeaders.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
        var reference = await client.GetByteArrayAsync("/api/backup");
        await using var unpacked = new MemoryStream();
        await using (var reader = new System.IO.Compression.GZipStream(new MemoryStream(gzip), System.IO.Compression.CompressionMode.Decompress))
        {
            await reader.CopyToAsync(unpacked);
        }

        unpacked.ToArray().Should().Equal(reference);
        var (exitCode, output, error) = await ExternalTools.RunAsync("bash", ["-o", "pipefail", "-c", $"gunzip -c '{saved}' | sha256sum"]);
        exitCode.Should().Be(0, error);
        output.Should().StartWith(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(reference)));
    }

    [Test]
    public void WrongKey_ShowsThe401Message()
    {
        OpenAdminPage("this-is-not-the-configured-key");

        _browser.FindElement(By.Id("download")).Click();

        var status = WaitForStatus("backup-status", "(401)");
        status.Text.Should().Contain("The API key was not accepted (401)");
        status.GetAttribute("class").Should().Contain("error");
        Directory.GetFiles(Workspace.DownloadDirectory).Should().BeEmpty();
    }

    [Test]
    public void Prune_AsksForConfirmationThenShowsTheCounts()
    {
        OpenAdminPage(CoreScopeApiFactory.StrongApiKey);
        var days = _browser.FindElement(By.Id("prune-days"));
        days.Clear();
        days.SendKeys("1");

        _browser.FindElement(By.Id("prune")).Click();
        var confirmation = new WebDriverWait(_browser, TimeSpan.FromSeconds(10)).Until(driver => driver.SwitchTo().Alert());
        confirmation.Text.Should().Contain("older than 1 days");
        confirmation.Accept();

        WaitForStatus("prune-status", "Deleted 0 packets and 0 observations; 0 observers marked inactive.");
        TestDatabase.RowCounts(Workspace.DatabasePath)["transmissions"].Should().Be(300, "nothing in the database is a day old");
    }

    [Test]
    public async Task AdminPage_IsServedUnderASameOriginContentSecurityPolicy()
    {
        using var client = new HttpClient { BaseAddress = _server };

        using var response = await client.GetAsync("/admin");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.Should().Be("text/html");
        var policy = response.Headers.GetValues("Content-Security-Policy").Single();
        policy.Should().Contain("default-src 'self'").And.Contain("script-src 'self'").And.NotContain("unsafe-inline");
        (await response.Content.ReadAsStringAsync()).Should().Contain("/api/docs");
    }

    private void OpenAdminPage(string apiKey)
    {
        _browser.Navigate().GoToUrl(new Uri(_server, "/admin"));
        _browser.FindElement(By.Id("api-key")).SendKeys(apiKey);
    }

    private IWebElement WaitForStatus(string id, string text) =>
        new WebDriverWait(_browser, TimeSpan.FromSeconds(30)).Until(driver =>
        {
            var element = driver.FindElement(By.Id(id));
            return element.Text.Contains(text, StringComparison.Ordinal) ? element : null;
        });

    private string WaitForDownload()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var finished = Directory.GetFiles(Workspace.DownloadDirectory)
                .Where(file => !file.EndsWith(".crdownload", StringComparison.Ordinal) && !file.EndsWith(".tmp", StringComparison.Ordinal))
                .ToList();
            if (finished.Count == 1)
            {
                return finished[0];
            }

            Thread.Sleep(100);
        }

        throw new TimeoutException("Chromium saved no file in " + Workspace.DownloadDirectory);
    }
}
