using System.Net;
using System.Text.Json;
using CoreScope.Api.Tests.Infrastructure;
using FluentAssertions;
using NUnit.Framework;

namespace CoreScope.Api.Tests.Controllers;

public sealed class ApiKeyTests : WorkspaceTests
{
    [Test]
    public async Task Backup_WithoutApiKey_Returns401WithError()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(key: null);

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var error = await ErrorMemberAsync(response);
        error.Should().Contain("X-API-Key");
        Workspace.BackupTempEntries().Should().BeEmpty();
    }

    [Test]
    public async Task Backup_WithWrongApiKey_Returns401()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey + "x");

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        (await ErrorMemberAsync(response)).Should().Contain("invalid API key");
    }

    [Test]
    public async Task Backup_WhenNoKeyIsConfigured_Returns403SayingHowToSetOne()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, apiKey: null);
        using var client = factory.CreateClient("anything-at-all-1234567890");

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        var error = await ErrorMemberAsync(response);
        error.Should().Contain("CoreScope:ApiKey").And.Contain("CoreScope__ApiKey");
    }

    [TestCase("password")]
    [TestCase("CHANGE-ME")]
    [TestCase("your-secret-api-key-here")]
    [TestCase("short-key-15chr")]
    public async Task Backup_WithWeakConfiguredKey_Returns403EvenWhenPresented(string weakKey)
    {
        await using var factory = new CoreScopeApiFactory(Workspace, weakKey);
        using var client = factory.CreateClient(weakKey);

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.Forbidden);
        (await ErrorMemberAsync(response)).Should().Contain("weak");
        Workspace.BackupTempEntries().Should().BeEmpty();
    }

    [Test]
    public async Task Backup_WithSixteenCharacterKey_IsAccepted()
    {
        const string key = "sixteen-chars-ok";
        await using var factory = new CoreScopeApiFactory(Workspace, key);
        using var client = factory.CreateClient(key);

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
    }

    internal static async Task<string> ErrorMemberAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("error").GetString()!;
    }
}
