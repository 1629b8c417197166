using CoreScope.Api.Tests.Backup;
using CoreScope.Data.Offsite;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>docs/offsite.md "Settings": a target set up half-way stops the server at start and says what is missing; none set is no target.</summary>
public sealed class OffsiteSettingsTests : WorkspaceTests
{
    private static readonly string[][] BadSettings =
    [
        ["CoreScope:Offsite:S3:Bucket", "corescope", "", "", "set Region (AWS S3"],
        ["CoreScope:Offsite:S3:Region", "eu-central-1", "", "", "Bucket is empty"],
        ["CoreScope:Offsite:S3:Bucket", "Not_A_Bucket!", "CoreScope:Offsite:S3:Region", "eu-central-1", "is not a bucket name"],
        ["CoreScope:Offsite:S3:Bucket", "corescope", "CoreScope:Offsite:S3:ServiceUrl", "minio:9000", "ServiceUrl must be an http:// or https:// URL"],
        ["CoreScope:Offsite:S3:Bucket", "corescope", "CoreScope:Offsite:S3:AccessKeyId", "AKIA0000", "AccessKeyId and SecretAccessKey go together"],
        ["CoreScope:Offsite:S3:Bucket", "corescope", "CoreScope:Offsite:S3:Prefix", "/root/", "must not start with '/'"],
        ["CoreScope:Offsite:AzureBlob:ConnectionString", "UseDevelopmentStorage=true", "", "", "Container is required"],
        ["CoreScope:Offsite:AzureBlob:ConnectionString", "this is not one", "CoreScope:Offsite:AzureBlob:Container", "c", "ConnectionString cannot be read"],
        ["CoreScope:Offsite:AzureBlob:ContainerUri", "https://acct.blob.core.windows.net/", "", "", "ContainerUri must be the container's"],
        ["CoreScope:Offsite:AzureBlob:Container", "corescope", "", "", "without ConnectionString or ContainerUri"],
        ["CoreScope:Offsite:MaxAttempts", "0", "", "", "MaxAttempts"],
        ["CoreScope:Offsite:PartSizeMB", "4", "", "", "PartSizeMB"],
        ["CoreScope:Offsite:Retention:KeepLast", "-1", "", "", "Retention:KeepLast"],
    ];

    [TestCaseSource(nameof(BadSettings))]
    public async Task AHalfSetTarget_StopsTheServerAtStart_SayingWhatIsMissing(string key, string value, string otherKey, string otherValue, string message)
    {
        var settings = new Dictionary<string, string?> { [key] = value };
        if (otherKey.Length > 0)
        {
            settings[otherKey] = otherValue;
        }

        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, settings);

        var start = () => factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var thrown = start.Should().Throw<Exception>().Which;
        var messages = string.Join(" ", new[] { thrown, thrown.InnerException }.OfType<Exception>().Select(exception => exception.Message));
        messages.Should().Contain(message);
    }

    [Test]
    public async Task BothTargetsSet_AreBothConfigured_AndNoneSet_IsNone()
    {
        await CreateDatabaseAsync(1);
        await using var both = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, new Dictionary<string, string?>
        {
            ["CoreScope:Offsite:S3:Bucket"] = "corescope",
            ["CoreScope:Offsite:S3:Region"] = "eu-central-1",
            ["CoreScope:Offsite:AzureBlob:ContainerUri"] = "https://acct.blob.core.windows.net/backups?sv=2024-11-04&sig=abc",
        });
        using (both.CreateClient(CoreScopeApiFactory.StrongApiKey))
        {
            var targets = both.Services.GetRequiredService<OffsiteTargets>().All;
            targets.Select(target => target.Name).Should().Equal("s3", "azureblob");
            targets[1].Description.Should().NotContain("sig=", "a SAS token is a credential and stays out of the log");
        }

        await using var none = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using (none.CreateClient(CoreScopeApiFactory.StrongApiKey))
        {
            none.Services.GetRequiredService<OffsiteTargets>().All.Should().BeEmpty();
        }
    }

    [Test]
    public async Task PostOffsite_WithoutATarget_Returns400_AndWithoutTheKey_Returns401()
    {
        await CreateDatabaseAsync(10);
        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var manifest = await StoredBackups.StoreAsync(client);

        using var response = await client.PostAsync($"/api/backups/{manifest.Id()}/offsite", null);
        using var anonymous = server.CreateClient((string?)null);
        using var refused = await anonymous.PostAsync($"/api/backups/{manifest.Id()}/offsite", null);
        using var list = await client.GetAsync("/api/offsite/backups");

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().Should().Contain("No offsite target is configured");
        refused.StatusCode.Should().Be(HttpStatusCode.Unauthorized);
        list.StatusCode.Should().Be(HttpStatusCode.BadRequest);
    }
}
