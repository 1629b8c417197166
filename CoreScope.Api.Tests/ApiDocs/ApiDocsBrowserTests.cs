using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace CoreScope.Api.Tests.ApiDocs;

/// <summary>
/// Swagger UI at /api/docs in Debian's headless Chromium, with a foreign OpenAPI document served on another loopback
/// port: a link naming that document must not make the page fetch it (it would route "Try it out", and the key, to
/// the servers it names), and the page must still work under its same-origin policy.
/// </summary>
[Category("Slow")]
public sealed class ApiDocsBrowserTests : WorkspaceTests
{
    private Uri _server = null!;
    private ForeignServer _foreign = null!;
    private ChromeDriver _browser = null!;

    [SetUp]
    public async Task SetUp()
    {
        HeadlessChromium.RequireInstalled();
        await CreateDatabaseAsync(transmissions: 10);
        _server = CreateServer().StartKestrel();
        _foreign = await ForeignServer.StartAsync();
        _browser = HeadlessChromium.Start(Workspace.DownloadDirectory, Path.Combine(Workspace.Root, "chromium-profile"));
    }

    [TearDown]
    public async Task TearDown()
    {
        _browser?.Quit();
        _browser?.Dispose();
        if (_foreign is not null)
        {
            await _foreign.DisposeAsync();
        }
    }

    [TestCase("url", "spec.json")]
    [TestCase("configUrl", "config.json")]
    public void LinkNamingAForeignDocument_LoadsOnlyThisServersDocument(string parameter, string file)
    {
        var foreignDocument = new Uri(_foreign.Address, file);

        _browser.Navigate().GoToUrl(new Uri(_server, $"/api/docs/index.html?{parameter}={Uri.EscapeDataString(foreignDocument.ToString())}"));

        // Until the page shows an API: this server's, or (the failure) the foreign one.
        Wait().Until(driver => !_foreign.Requests.IsEmpty
            || driver.FindElements(By.CssSelector(".opblock-summary-path[data-path='/api/backup']")).Count > 0);
        Thread.Sleep(1000);
        _foreign.Requests.Should().BeEmpty("the page must not fetch a document another server offers");
        WaitForOperation("/api/backup");
        _browser.FindElements(By.CssSelector("[data-path='/steal-the-key']")).Should().BeEmpty();
        HeadlessChromium.ConsoleLines(_browser).Should().NotContain(line => line.Contains("Content Security Policy", StringComparison.Ordinal),
            "Swagger UI runs under the policy without breaking it");
    }

    [Test]
    public void TryItOut_UnderThePolicy_CallsThisServer()
    {
        _browser.Navigate().GoToUrl(new Uri(_server, "/api/docs"));
        var operation = WaitForOperation("/api/stats");
        operation.Click();
        var block = operation.FindElement(By.XPath("./ancestor::div[contains(@class,'opblock ')]"));

        Wait().Until(_ => block.FindElements(By.CssSelector("button.try-out__btn")).FirstOrDefault()).Click();
        Wait().Until(_ => block.FindElements(By.CssSelector("button.execute")).FirstOrDefault()).Click();

        var status = Wait().Until(_ => block.FindElements(By.CssSelector(".live-responses-table tbody .response-col_status")).FirstOrDefault());
        status.Text.Should().StartWith("200");
        block.FindElement(By.CssSelector(".live-responses-table .microlight")).Text.Should().Contain("totalTransmissions");
        HeadlessChromium.ConsoleLines(_browser).Should().NotContain(line => line.Contains("Content Security Policy", StringComparison.Ordinal));
    }

    [Test]
    public async Task ApiDocs_IsServedUnderASameOriginPolicy_ThatForbidsFraming()
    {
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = _server };

        using var bare = await client.GetAsync("/api/docs?url=https://elsewhere.example/spec.json");
        using var page = await client.GetAsync("/api/docs/index.html");
        using var script = await client.GetAsync("/api/docs/api-docs.js");
        using var nswagPage = await client.GetAsync("/api/docs/oauth2-redirect.html");

        bare.StatusCode.Should().Be(HttpStatusCode.Redirect);
        bare.Headers.Location!.ToString().Should().Be("/api/docs/index.html", "nothing of the link's query is carried to the page");
        page.StatusCode.Should().Be(HttpStatusCode.OK);
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();
        policy.Should().Contain("connect-src 'self'").And.Contain("frame-ancestors 'none'").And.Contain("script-src 'self';")
            .And.NotContain("unsafe-inline").And.NotContain("unsafe-eval");
        page.Headers.GetValues("X-Frame-Options").Single().Should().Be("DENY");
        (await page.Content.ReadAsStringAsync()).Should().NotContain("<script>", "inline scripts would need 'unsafe-inline'");
        (await script.Content.ReadAsStringAsync()).Should().Contain("queryConfigEnabled: false");
        nswagPage.StatusCode.Should().Be(HttpStatusCode.NotFound, "NSwag's pages with inline scripts are not served");
    }

    private IWebElement WaitForOperation(string path) =>
        Wait().Until(driver => driver.FindElements(By.CssSelector($".opblock-summary-path[data-path='{path}']")).FirstOrDefault());

    private WebDriverWait Wait() => new(_browser, TimeSpan.FromSeconds(30));

    /// <summary>Another origin on 127.0.0.1 offering an OpenAPI document (and a Swagger UI config naming it) to anyone.</summary>
    private sealed class ForeignServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private ForeignServer(WebApplication app, Uri address)
        {
            _app = app;
            Address = address;
        }

        public Uri Address { get; }

        public ConcurrentQueue<string> Requests { get; } = new();

        public static async Task<ForeignServer> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            ForeignServer? server = null;
            app.Use(async (context, next) =>
            {
                server!.Requests.Enqueue(context.Request.Method + " " + context.Request.Path);
                context.Response.Headers.AccessControlAllowOrigin = "*";
                context.Response.Headers.AccessControlAllowHeaders = "*";
                await next(context);
            });
            app.MapGet("/spec.json", (HttpContext context) => Results.Json(new Dictionary<string, object>
            {
                ["openapi"] = "3.0.1",
                ["info"] = new { title = "Not CoreScope", version = "1" },
                ["servers"] = new[] { new { url = $"http://{context.Request.Host}" } },
                ["paths"] = new Dictionary<string, object>
                {
                    ["/steal-the-key"] = new { get = new { responses = new Dictionary<string, object> { ["200"] = new { description = "ok" } } } },
                },
            }));
            app.MapGet("/config.json", (HttpContext context) => Results.Json(new { url = $"http://{context.Request.Host}/spec.json" }));
            await app.StartAsync();
            var address = new Uri(app.Urls.Single());
            server = new ForeignServer(app, address);
            return server;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
