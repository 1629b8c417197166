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

    [TestCase("password", "shorter than 16")]
    [TestCase("CHANGE-ME", "shorter than 16")]
    [TestCase("your-secret-api-key-here", "placeholder")]
    [TestCase("short-key-15chr", "shorter than 16")]
    [TestCase("aaaaaaaaaaaaaaaa", "only 1 different")]
    [TestCase("abababababababababab", "only 2 different")]
    [TestCase("changemechangeme", "8-character pattern repeated")]
    [TestCase("Secret-7!Secret-7!Secret-7!", "9-character pattern repeated")]
    [TestCase("password12345678", "common words and runs")]
    [TestCase("abcdefghijklmnop", "common words and runs")]
    [TestCase("qwertyuiopasdfgh", "common words and runs")]
    [TestCase("admin-admin-password-9876543210", "common words and runs")]
    public async Task Backup_WithWeakConfiguredKey_Returns403EvenWhenPresented(string weakKey, string reason)
    {
        var server = CreateServer(weakKey);
        using var client = server.CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var error = await response.ErrorMemberAsync();
        error.Should().Contain("weak").And.Contain(reason).And.NotContain(weakKey);
        Workspace.BackupTempEntries().Should().BeEmpty();
        server.Logs.Lines.Should().Contain(line => line.Message.Contains("API key is weak", StringComparison.Ordinal) && line.Message.Contains(reason, StringComparison.Ordinal),
            "the operator is warned at start");
    }

    [TestCase("3f9a1c0b7e2d4a68")]
    [TestCase("correct horse battery staple")]
    [TestCase("Zq8#vR2m!Lp5@Xw9")]
    public async Task Backup_WithRandomOrPassphraseKey_IsAccepted(string key)
    {
        using var client = CreateServer(key).CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [TestCase(" leading-space-3f9a1c0b7e2d", "whitespace")]
    [TestCase("trailing-space-3f9a1c0b7e2d ", "whitespace")]
    [TestCase("saved-on-windows-3f9a1c0b7e2d\r", "whitespace or a line break")]
    [TestCase("echoed-to-file-3f9a1c0b7e2d\n", "whitespace or a line break")]
    [TestCase("                    ", "whitespace")]
    [TestCase("tab\tinside-3f9a1c0b7e2d4a", "control character")]
    [TestCase("umlaut-\u00fc-3f9a1c0b7e2d4a", "outside printable ASCII")]
    public void Start_WithAKeyNoClientCanSend_StopsWithAMessageThatNamesTheSettingButNotTheKey(string key, string reason)
    {
        var server = CreateServer(key);

        var start = () => server.CreateClient();

        var message = start.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().Which.Message;
        message.Should().Contain("CoreScope:ApiKey").And.Contain(reason).And.Contain("401");
        if (key.Trim().Length > 0)
        {
            message.Should().NotContain(key.Trim(), "the key is never repeated, even in a refusal");
        }
    }

    [Test]
    public async Task Backup_WithSixteenCharacterKey_IsAccepted()
    {
        using var client = CreateServer("sixteen-chars-ok").CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }
}
