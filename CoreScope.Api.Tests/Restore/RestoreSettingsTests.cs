namespace CoreScope.Api.Tests.Restore;

/// <summary>docs/restore.md, "Settings": a bad value stops the server at start and names the setting.</summary>
public sealed class RestoreSettingsTests : WorkspaceTests
{
    [TestCase("CoreScope:Restore:MaxUploadMB", "0", "MaxUploadMB")]
    [TestCase("CoreScope:Restore:MaxDatabaseMB", "-5", "MaxDatabaseMB")]
    [TestCase("CoreScope:Restore:WriteWaitSeconds", "100000", "WriteWaitSeconds")]
    [TestCase("CoreScope:Restore:IntegrityCheck", "Sometimes", "IntegrityCheck")]
    public async Task ABadRestoreSetting_StopsTheServerAtStart_NamingIt(string key, string value, string name)
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, new Dictionary<string, string?> { [key] = value });

        var start = () => factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var thrown = start.Should().Throw<Exception>().Which;
        var messages = string.Join(" ", new[] { thrown, thrown.InnerException }.OfType<Exception>().Select(exception => exception.Message));
        messages.Should().Contain(name);
    }
}
