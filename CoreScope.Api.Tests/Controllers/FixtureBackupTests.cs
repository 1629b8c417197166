using System.Net;
using CoreScope.Api.Tests.Infrastructure;
using FluentAssertions;
using NUnit.Framework;

namespace CoreScope.Api.Tests.Controllers;

/// <summary>The database the original CoreScope wrote: the server takes it over and backs it up whole.</summary>
public sealed class FixtureBackupTests : WorkspaceTests
{
    [Test]
    public async Task Backup_OfOriginalsFixture_OpensUpgradesAndHoldsEveryRow()
    {
        Workspace.UseOriginalsFixture();
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using var response = await client.GetAsync("/api/backup");

        response.StatusCode.Should().Be(HttpStatusCode.OK);
        var path = Path.Combine(Workspace.DownloadDirectory, "fixture-backup.db");
        await File.WriteAllBytesAsync(path, await response.Content.ReadAsByteArrayAsync());
        TestDatabase.IntegrityCheck(path).Should().Be("ok");
        var counts = TestDatabase.RowCounts(path);
        counts["nodes"].Should().Be(200);
        counts["observers"].Should().Be(31);
        counts["transmissions"].Should().Be(499);
        counts["observations"].Should().Be(500);
        TestDatabase.SchemaObjects(path).Should().Contain(["table _migrations", "view packets_v"]);
    }
}
