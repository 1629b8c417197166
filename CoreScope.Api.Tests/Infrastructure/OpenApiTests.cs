namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>The OpenAPI document and Swagger UI that Infrastructure/OpenApiExtensions sets up.</summary>
public sealed class OpenApiTests : WorkspaceTests
{
    [Test]
    public async Task OpenApi_ListsBackupAsBinaryWithApiKeyRequirement()
    {
        using var client = CreateServer().CreateClient(key: null);

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/openapi"));

        var root = document.RootElement;
        var scheme = root.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        scheme.GetProperty("type").GetString().Should().Be("apiKey");
        scheme.GetProperty("name").GetString().Should().Be("X-API-Key");
        scheme.GetProperty("in").GetString().Should().Be("header");

        var backup = root.GetProperty("paths").GetProperty("/api/backup").GetProperty("get");
        backup.GetProperty("security").EnumerateArray().Select(requirement => requirement.EnumerateObject().Single().Name)
            .Should().Equal("ApiKey");
        var responses = backup.GetProperty("responses");
        responses.GetProperty("200").GetProperty("content").GetProperty("application/octet-stream")
            .GetProperty("schema").GetProperty("format").GetString().Should().Be("binary");
        responses.TryGetProperty("401", out _).Should().BeTrue();
        responses.TryGetProperty("403", out _).Should().BeTrue();
    }

    [Test]
    public async Task OpenApi_DescribesTheRestoreBody_TheFileOrTheOffsiteDecryptionKey()
    {
        using var client = CreateServer().CreateClient(key: null);

        using var document = JsonDocument.Parse(await client.GetStringAsync("/api/openapi"));

        var content = document.RootElement.GetProperty("paths").GetProperty("/api/admin/restore").GetProperty("post")
            .GetProperty("requestBody").GetProperty("content");
        content.GetProperty("application/octet-stream").GetProperty("schema").GetProperty("format").GetString().Should().Be("binary");
        var key = content.GetProperty("application/json").GetProperty("schema");
        key.GetProperty("properties").EnumerateObject().Select(property => property.Name).Should().BeEquivalentTo("privateKey", "passphrase");
        key.GetProperty("required").EnumerateArray().Select(name => name.GetString()).Should().Equal("privateKey");
    }

    [Test]
    public async Task SwaggerUi_IsServedAtApiDocs()
    {
        using var client = CreateServer().CreateClient(key: null);

        using var response = await client.GetAsync("/api/docs/index.html");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var html = await response.Content.ReadAsStringAsync();
        html.Should().Contain("swagger-ui");
    }
}
