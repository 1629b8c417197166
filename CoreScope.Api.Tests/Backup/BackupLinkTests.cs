using System.Net.Http.Headers;
using System.Net.Http.Json;
using CoreScope.Api.Backup;

namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/backup.md "Download links": time-limited URLs that download without the key.</summary>
public sealed class BackupLinkTests : WorkspaceTests
{
    [SetUp]
    public async Task CreateDatabase()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 200);
    }

    private static async Task<(string Url, DateTimeOffset ExpiresAt)> LinkAsync(HttpClient client, string id)
    {
        using var response = await client.PostAsync($"/api/backups/{id}/link", null);
        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (body.GetProperty("url").GetString()!, body.GetProperty("expiresAt").GetDateTimeOffset());
    }

    [Test]
    public async Task Link_DownloadsTheFileWithoutTheKey_AndResumes()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        using var browser = factory.CreateClient(key: null);

        var (url, expiresAt) = await LinkAsync(client, manifest.Id());
        using var response = await browser.GetAsync(url);

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var body = await response.Content.ReadAsByteArrayAsync();
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body)).Should().Be(manifest.Sha256());
        response.Content.Headers.ContentDisposition!.FileName!.Trim('"').Should().Be($"corescope-backup-{manifest.Id()}.db");
        url.Should().StartWith("/api/backup-links/").And.NotContain(CoreScopeApiFactory.StrongApiKey);
        expiresAt.Should().BeCloseTo(DateTimeOffset.UtcNow.AddMinutes(5), TimeSpan.FromSeconds(30));

        using var rest = new HttpRequestMessage(HttpMethod.Get, url);
        rest.Headers.Range = new RangeHeaderValue(100, null);
        using var resumed = await browser.SendAsync(rest);
        resumed.StatusCode.Should().Be(HttpStatusCode.PartialContent);
        (await resumed.Content.ReadAsByteArrayAsync()).Should().Equal(body[100..]);

        var token = url["/api/backup-links/".Length..url.IndexOf('?', StringComparison.Ordinal)];
        factory.Logs.Lines.Should().NotContain(line => line.Message.Contains(token, StringComparison.Ordinal), "a live link is as good as a key for five minutes");
    }

    [Test]
    public async Task Link_Tampered_Returns403SayingItIsNotValid()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        var (url, _) = await LinkAsync(client, manifest.Id());
        var at = "/api/backup-links/".Length + 20;
        var tampered = url[..at] + (url[at] == 'A' ? 'B' : 'A') + url[(at + 1)..];
        using var browser = factory.CreateClient(key: null);

        using var response = await browser.GetAsync(tampered);

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ProblemResponses.ErrorMemberAsync(response)).Should().Contain("not valid");
        (await browser.GetAsync("/api/backup-links/not-a-token")).StatusCode.Should().Be(HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task Link_Expired_Returns403SayingItExpired_EvenWithTheExpiryMovedInTheQuery()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey,
            new Dictionary<string, string?> { ["CoreScope:Backup:Links:LifetimeSeconds"] = "1" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        var (url, _) = await LinkAsync(client, manifest.Id());
        using var browser = factory.CreateClient(key: null);
        (await browser.GetAsync(url)).StatusCode.Should().Be(HttpStatusCode.OK);

        await Task.Delay(TimeSpan.FromSeconds(2.2));
        using var expired = await browser.GetAsync(url);
        using var stretched = await browser.GetAsync(url[..url.IndexOf('?', StringComparison.Ordinal)] + "?expires=4102444800");

        expired.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ProblemResponses.ErrorMemberAsync(expired)).Should().Contain("expired");
        stretched.StatusCode.Should().Be(HttpStatusCode.Forbidden, "the expiry that counts is the one inside the protected token");
    }

    [TestCase("-99999999999", Description = "before year 1, where the date itself threw: a 500")]
    [TestCase("253402300800", Description = "after 9999-12-31 23:59:59, likewise")]
    [TestCase("0")]
    [TestCase("-1")]
    [TestCase("99999999999999999999", Description = "beyond a long")]
    [TestCase("soon")]
    public async Task Link_WithAnExpiryNoLinkCarries_Returns400NamingIt_WhateverItsToken(string expires)
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        var (url, _) = await LinkAsync(client, manifest.Id());
        var path = url[..url.IndexOf('?', StringComparison.Ordinal)];
        using var browser = factory.CreateClient(key: null);

        foreach (var link in new[] { path, "/api/backup-links/not-a-token" })
        {
            using var response = await browser.GetAsync($"{link}?expires={expires}");

            var body = await response.Content.ReadAsStringAsync();
            response.StatusCode.Should().Be(HttpStatusCode.BadRequest, body);
            (await response.ErrorMemberAsync()).Should().Contain("expires");
            body.Should().NotContain("   at ", "no stack trace");
        }

        factory.Logs.Lines.Should().NotContain(line => line.Message.Contains("failed with 500", StringComparison.Ordinal));
    }

    [Test]
    public async Task Link_SurvivesARestart_WithKeysKeptBesideTheDatabase()
    {
        string url;
        string sha256;
        await using (var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey))
        {
            using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
            var manifest = await StoredBackups.StoreAsync(client);
            (url, _) = await LinkAsync(client, manifest.Id());
            sha256 = manifest.Sha256();
        }

        var keys = Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, BackupExtensions.KeysFolderName);
        Directory.GetFiles(keys, "key-*.xml").Should().NotBeEmpty();
        new DirectoryInfo(keys).UnixFileMode.Should().Be(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await using (var restarted = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey))
        {
            using var browser = restarted.CreateClient(key: null);
            using var response = await browser.GetAsync(url);

            response.StatusCode.Should().Be(HttpStatusCode.OK);
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await response.Content.ReadAsByteArrayAsync())).Should().Be(sha256);
        }
    }

    [Test]
    public async Task Link_ToADeletedBackup_Returns404()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);
        var (url, _) = await LinkAsync(client, manifest.Id());
        (await client.DeleteAsync($"/api/backups/{manifest.Id()}")).EnsureSuccessStatusCode();

        using var browser = factory.CreateClient(key: null);
        (await browser.GetAsync(url)).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await browser.PostAsync($"/api/backups/{manifest.Id()}/link", null)).StatusCode.Should().Be(HttpStatusCode.Unauthorized);
    }
}
