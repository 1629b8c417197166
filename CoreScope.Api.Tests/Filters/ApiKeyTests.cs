namespace CoreScope.Api.Tests.Filters;

/// <summary>The <c>[ApiKey]</c> filter, seen through <c>GET /api/backup</c>: 401 for a missing or wrong key, 403 for none or a weak one.</summary>
public sealed class ApiKeyTests : WorkspaceTests
{
    [Test]
    public async Task Backup_WithoutApiKey_Returns401WithError()
    {
        using var client = CreateServer().CreateClient(key: null);

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var error = await response.ErrorMemberAsync();
        error.Should().Contain("X-API-Key");
        Workspace.BackupTempEntries().Should().BeEmpty();
    }

    [Test]
    public async Task Backup_WithWrongApiKey_Returns401()
    {
        using var client = CreateServer().CreateClient(CoreScopeApiFactory.StrongApiKey + "x");

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await response.ErrorMemberAsync()).Should().Contain("invalid API key");
    }

    [Test]
    public async Task Backup_WhenNoKeyIsConfigured_Returns403SayingHowToSetOne()
    {
        using var client = CreateServer(apiKey: null).CreateClient("anything-at-all-1234567890");

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var error = await response.ErrorMemberAsync();
        error.Should().Contain("CoreScope:ApiKey").And.Contain("CoreScope__ApiKey");
    }

    [TestCase("password")]
    [TestCase("CHANGE-ME")]
    [TestCase("your-secret-api-key-here")]
    [TestCase("short-key-15chr")]
    public async Task Backup_WithWeakConfiguredKey_Returns403EvenWhenPresented(string weakKey)
    {
        using var client = CreateServer(weakKey).CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await response.ErrorMemberAsync()).Should().Contain("weak");
        Workspace.BackupTempEntries().Should().BeEmpty();
    }

    [Test]
    public async Task Backup_WithSixteenCharacterKey_IsAccepted()
    {
        using var client = CreateServer("sixteen-chars-ok").CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
