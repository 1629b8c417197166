using System.Net;
using CoreScope.Api.Tests.Infrastructure;
using FluentAssertions;
using NUnit.Framework;

namespace CoreScope.Api.Tests.Controllers;

/// <summary>Backups over a real socket on 127.0.0.1: what a client that goes away does to the server.</summary>
public sealed class BackupKestrelTests : WorkspaceTests
{
    [Test]
    public async Task Backup_AbortedMidBody_DeletesSnapshotAndServerGoesOn()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 12_000, payloadBytes: 400);
        new FileInfo(Workspace.DatabasePath).Length.Should().BeGreaterThan(8 * 1024 * 1024);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        var address = factory.StartKestrel();
        address.Host.Should().Be("127.0.0.1");

        using (var client = new HttpClient { BaseAddress = address })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/backup");
            request.Headers.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            response.StatusCode.Should().Be(HttpStatusCode.OK);
            var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64 * 1024];
            var read = 0;
            while (read < 256 * 1024)
            {
                read += await stream.ReadAsync(buffer);
            }

            response.Content.Headers.ContentLength.Should().BeGreaterThan(read * 4L, "the client leaves well before the end");
            Workspace.BackupTempEntries().Should().HaveCount(1, "the snapshot is on disk while it is being sent");

            // Dropping the response mid-body closes the connection under the server.
            response.Dispose();
        }

        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);

        using var next = new HttpClient { BaseAddress = address };
        next.DefaultRequestHeaders.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
        var bytes = await next.GetByteArrayAsync("/api/backup");
        var path = Path.Combine(Workspace.DownloadDirectory, "after-abort.db");
        await File.WriteAllBytesAsync(path, bytes);
        TestDatabase.IntegrityCheck(path).Should().Be("ok");
        TestDatabase.RowCounts(path)["transmissions"].Should().Be(12_000);
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
    }
}
