using System.Text;
using CoreScope.Api.Tests.Restore;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// docs/offsite.md "Restoring an encrypted copy": the key's JSON body is read before anything is downloaded, and a body
/// that is not the expected JSON is a 400 that says what to send and never echoes what was sent (it may be a key).
/// </summary>
public sealed class OffsiteRestoreKeyTests : WorkspaceTests
{
    private const string KeyText = "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQVYBGc0secretmaterial\n-----END PGP PRIVATE KEY BLOCK-----\n";

    [TestCase("{\"passphrase\": \"x\"}")]
    [TestCase("{\"privateKey\": \"" + "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQVYBGc0secretmaterial")]
    [TestCase("not json " + KeyText)]
    public async Task RestoreWithOffsite_WithAKeyBodyThatIsNotTheExpectedJson_Answers400_WithoutEchoingIt(string body)
    {
        await CreateDatabaseAsync(10);
        var server = CreateServer();
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var before = DatabaseContent.Read(Workspace.DatabasePath);

        using var response = await client.PostAsync("/api/admin/restore?offsite=s3:corescope/corescope-backup-20260101T030000Z-abcdef.db.gpg",
            new StringContent(body, Encoding.UTF8, "application/json"));

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.BadRequest, text);
        JsonDocument.Parse(text).RootElement.GetProperty("error").GetString().Should().Contain("\"privateKey\"").And.Contain("application/json");
        text.Should().NotContain("secretmaterial");
        server.Logs.Lines.Should().NotContain(line => line.Message.Contains("secretmaterial", StringComparison.Ordinal));
        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(before, options => options.WithStrictOrdering());
    }
}
