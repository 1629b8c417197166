using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CoreScope.Api.Tests.Diagnostics;

/// <summary>
/// The first "done when", on the backups that exist today (downloads): backups start failing, and health,
/// metrics and the webhook all say so, once; the clock passes MaxAgeHours and health turns degraded; backups work
/// again and one recovery is posted. Stored, scheduled backups (issue 12) record through the same calls.
/// </summary>
public sealed class BackupFailureLifecycleTests : WorkspaceTests
{
    [Test]
    public async Task BackupsStopWorking_HealthMetricsAndOneWebhookSaySo_DegradedAfterMaxAge_ThenOneRecovery()
    {
        await CreateDatabaseAsync(transmissions: 20);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 3, 0, 0, TimeSpan.Zero));
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, new Dictionary<string, string?>
        {
            ["CoreScope:Backup:MaxAgeHours"] = "26",
            ["CoreScope:Notify:WebhookUrl"] = receiver.Url,
        })
        {
            ConfigureServices = services => services.AddSingleton<TimeProvider>(clock),
        };
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        await Eventually.TrueAsync(async () => await SuccessesAsync(client) == 1, "the first backup in /metrics");

        // The folder backups are written to becomes unusable; the next night's backups fail.
        Directory.Delete(Workspace.BackupTempDirectory, recursive: true);
        await File.WriteAllTextAsync(Workspace.BackupTempDirectory, "not a folder");
        for (var night = 1; night <= 2; night++)
        {
            clock.Advance(TimeSpan.FromHours(24));
            (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        }

        await Eventually.TrueAsync(async () => await FailuresAsync(client) == 2, "two failures in /metrics");
        using (var health = JsonDocument.Parse(await client.GetStringAsync("/api/health")))
        {
            health.RootElement.GetProperty("status").GetString().Should().Be("degraded", "48 hours have passed since the last good backup");
            var backup = health.RootElement.GetProperty("backup");
            backup.GetProperty("lastFailureAt").GetString().Should().Be("2026-03-03T03:00:00.000Z");
            backup.GetProperty("lastFailureReason").GetString().Should().Contain("The snapshot failed (IOException)")
                .And.NotContain(Workspace.BackupTempDirectory, "health is public: server paths go to the log only");
            backup.GetProperty("lastSuccessAgeSeconds").GetDouble().Should().Be(48 * 3600);
        }

        await receiver.WaitForBodiesAsync(1);
        receiver.Bodies.Should().ContainSingle("one alert for a failure that repeats");
        receiver.Bodies[0].Should().Contain("backup.failed").And.Contain("The snapshot failed (IOException)");

        // Fixed: the next backup works, health is ok again, and one recovery is posted.
        File.Delete(Workspace.BackupTempDirectory);
        Directory.CreateDirectory(Workspace.BackupTempDirectory);
        clock.Advance(TimeSpan.FromHours(1));
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        await receiver.WaitForBodiesAsync(2);
        await Eventually.TrueAsync(async () => await SuccessesAsync(client) == 2, "the second good backup in /metrics");
        using (var health = JsonDocument.Parse(await client.GetStringAsync("/api/health")))
        {
            health.RootElement.GetProperty("status").GetString().Should().Be("ok");
        }

        await Task.Delay(300);
        receiver.Bodies.Should().HaveCount(2);
        receiver.Bodies[1].Should().Contain("backup.recovered");
    }

    private static async Task<double> SuccessesAsync(HttpClient client) =>
        MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_backups_total", "outcome=\"success\"", "trigger=\"download\"");

    private static async Task<double> FailuresAsync(HttpClient client) =>
        MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_backups_total", "outcome=\"failure\"", "trigger=\"download\"");
}
