using CoreScope.Data.Backup;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Backup;

/// <summary>
/// docs/backup.md, "Errors": a bad query (400) and a damaged database or snapshot (500), each a ProblemDetails
/// with its reason in <c>error</c>; the key's 401 and 403 are the filter's (Filters/ApiKeyTests), the 429s and 507s
/// are limits (BackupLimitsTests).
/// </summary>
public sealed class BackupErrorsTests : WorkspaceTests
{
    [TestCase("?compress=zip", "compress must be")]
    [TestCase("?verify=maybe", "verify")]
    public async Task Backup_WithUnknownOption_Returns400AndMakesNoSnapshot(string query, string reason)
    {
        using var client = CreateServer().CreateOperatorClient();

        using var response = await client.GetAsync("/api/backup" + query);

        response.StatusCode.Should().Be(HttpStatusCode.BadRequest);
        (await response.ErrorMemberAsync()).Should().Contain(reason);
        Workspace.BackupTempEntries().Should().BeEmpty();
    }

    [Test]
    public async Task Backup_TempFolderCannotBeCreated_Returns500WithoutServerPaths_FreesItsSlot_AndLogsThePath()
    {
        await CreateDatabaseAsync(transmissions: 10);
        var server = CreateServer();
        using var client = server.CreateOperatorClient();
        (await client.GetAsync("/api/health")).StatusCode.Should().Be(HttpStatusCode.OK);

        // A file where the temp folder should be, under the running server: making the staging folder fails with an
        // IOException whose message names the path.
        Directory.Delete(Workspace.BackupTempDirectory, recursive: true);
        await File.WriteAllTextAsync(Workspace.BackupTempDirectory, "not a folder");
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var failed = await client.GetAsync("/api/backup");
            failed.StatusCode.Should().Be(HttpStatusCode.InternalServerError, "the second attempt too: the first must not keep the only slot");
            var body = await failed.Content.ReadAsStringAsync();
            body.Should().NotContain(Workspace.Root, "server paths stay out of error bodies").And.NotContain("/tmp");
            (await failed.ErrorMemberAsync()).Should().Contain("The snapshot failed (IOException)").And.Contain("log");
        }

        server.Logs.Lines.Should().Contain(line => line.Message.Contains(Workspace.BackupTempDirectory, StringComparison.Ordinal),
            "the operator finds the path in the log");
        File.Delete(Workspace.BackupTempDirectory);
        Directory.CreateDirectory(Workspace.BackupTempDirectory);
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    public async Task Backup_OfDamagedDatabase_Returns500AndLeavesNothingBehind()
    {
        await CreateDatabaseAsync(transmissions: 3_000, payloadBytes: 200);
        CheckpointDatabase();
        using var client = CreateServer().CreateOperatorClient();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);

        // Garbage over the pages after the schema's: the file still opens, but its tables cannot be read.
        await OverwriteWithGarbageAsync(Workspace.DatabasePath, fromPage: 16, seed: 7);

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await response.ErrorMemberAsync()).Should().Contain("damaged");
        Workspace.BackupTempEntries().Should().BeEmpty();
        (await client.GetAsync("/api/openapi")).StatusCode.Should().Be(HttpStatusCode.OK, "the server goes on serving");
    }

    [Test]
    public async Task VerifyIntegrity_OfDamagedSnapshot_FailsWithVerificationFailed()
    {
        await CreateDatabaseAsync(transmissions: 3_000, payloadBytes: 200);
        CheckpointDatabase();
        var damaged = Path.Combine(Workspace.DownloadDirectory, "damaged.db");
        File.Copy(Workspace.DatabasePath, damaged);
        await OverwriteWithGarbageAsync(damaged, fromPage: 8, seed: 11);
        var service = CreateServer().Services.GetRequiredService<BackupService>();

        var verify = () => service.VerifyIntegrityAsync(damaged, CancellationToken.None);

        (await verify.Should().ThrowAsync<BackupFailedException>())
            .Which.Failure.Should().Be(BackupFailure.VerificationFailed);
    }

    /// <summary>Moves every page into the main file, so damage written there is what SQLite reads.</summary>
    private void CheckpointDatabase()
    {
        using var connection = TestDatabase.Open(Workspace.DatabasePath);
        connection.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
    }

    /// <summary>Random bytes over every 4 KiB page from <paramref name="fromPage"/> on.</summary>
    private static async Task OverwriteWithGarbageAsync(string path, int fromPage, int seed)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        var garbage = new byte[file.Length - fromPage * 4096];
        new Random(seed).NextBytes(garbage);
        file.Position = fromPage * 4096;
        await file.WriteAsync(garbage);
    }
}
