using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CoreScope.Api.Tests.Diagnostics;

/// <summary>
/// The first "done when", for downloads and for the scheduled stored backups: backups start failing, and
/// health, metrics and the webhook all say so, once; the clock passes MaxAgeHours and health turns degraded; backups
/// work again and one recovery is posted.
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

    /// <summary>
    /// The first "done when" on the schedule itself. The store folder is made unwritable by putting a file where
    /// the folder was: tests run as root here, and root ignores a folder's mode bits (chmod 0555 would not stop it),
    /// while no user, root included, can create files inside a path that is a regular file.
    /// </summary>
    [Test]
    public async Task ScheduledBackupsStopWorking_HealthMetricsAndOneWebhookSaySo_DegradedAfterMaxAge_ThenOneRecovery()
    {
        await CreateDatabaseAsync(transmissions: 20);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 2, 59, 0, TimeSpan.Zero));
        var store = Path.Combine(Workspace.Root, "store");
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, new Dictionary<string, string?>
        {
            ["CoreScope:Backup:Schedule"] = "0 3 * * *",
            ["CoreScope:Backup:RetryAttempts"] = "0",
            ["CoreScope:Backup:MaxAgeHours"] = "26",
            ["CoreScope:Backup:Store:Directory"] = store,
            ["CoreScope:Notify:WebhookUrl"] = receiver.Url,
        })
        {
            ConfigureServices = services => services.AddSingleton<TimeProvider>(clock),
        };
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        await NextNightAsync(factory, clock, "2026-03-01T03:00:00", "stored as", 1);
        Directory.GetFiles(store, "*.db").Should().ContainSingle();

        // The store folder becomes a file: the next scheduled backups cannot be written.
        Directory.Delete(store, recursive: true);
        await File.WriteAllTextAsync(store, "not a folder");
        await NextNightAsync(factory, clock, "2026-03-02T03:00:00", "failed 1 times and is given up", 1);
        using (var health = JsonDocument.Parse(await client.GetStringAsync("/api/health")))
        {
            health.RootElement.GetProperty("status").GetString().Should().Be("ok", "24 hours are within MaxAgeHours");
            health.RootElement.GetProperty("backup").GetProperty("lastFailureAt").GetString().Should().Be("2026-03-02T03:00:00.000Z");
        }

        await NextNightAsync(factory, clock, "2026-03-03T03:00:00", "failed 1 times and is given up", 2);
        (await ScheduleSampleAsync(client, "failure")).Should().Be(2);
        string reason;
        using (var health = JsonDocument.Parse(await client.GetStringAsync("/api/health")))
        {
            health.RootElement.GetProperty("status").GetString().Should().Be("degraded", "48 hours have passed since the last good backup");
            var backup = health.RootElement.GetProperty("backup");
            backup.GetProperty("lastFailureAt").GetString().Should().Be("2026-03-03T03:00:00.000Z");
            reason = backup.GetProperty("lastFailureReason").GetString()!;
            reason.Should().Contain("The snapshot failed (IOException)").And.NotContain(store, "health is public: server paths go to the log only");
            backup.GetProperty("lastSuccessAgeSeconds").GetDouble().Should().Be(48 * 3600);
        }

        await receiver.WaitForBodiesAsync(1);
        await Task.Delay(300);
        receiver.Bodies.Should().ContainSingle("one alert for a failure that repeats");
        using (var alert = JsonDocument.Parse(receiver.Bodies[0]))
        {
            alert.RootElement.GetProperty("event").GetString().Should().Be("backup.failed");
            alert.RootElement.GetProperty("source").GetString().Should().Be("schedule");
            alert.RootElement.GetProperty("reason").GetString().Should().Be(reason);
        }

        // Fixed: the next scheduled backup works, health is ok again, and one recovery is posted.
        File.Delete(store);
        Directory.CreateDirectory(store);
        await NextNightAsync(factory, clock, "2026-03-04T03:00:00", "stored as", 2);
        (await ScheduleSampleAsync(client, "success")).Should().Be(2);
        using (var health = JsonDocument.Parse(await client.GetStringAsync("/api/health")))
        {
            health.RootElement.GetProperty("status").GetString().Should().Be("ok");
        }

        await receiver.WaitForBodiesAsync(2);
        await Task.Delay(300);
        receiver.Bodies.Should().HaveCount(2);
        using var recovery = JsonDocument.Parse(receiver.Bodies[1]);
        recovery.RootElement.GetProperty("event").GetString().Should().Be("backup.recovered");
        recovery.RootElement.GetProperty("source").GetString().Should().Be("schedule");
    }

    // Something is written (so the run does not skip), the clock moves to the planned time, and the run's outcome is logged.
    private async Task NextNightAsync(CoreScopeApiFactory factory, FakeTimeProvider clock, string planned, string outcome, int outcomeCount)
    {
        await factory.Logs.WaitForAsync("Next scheduled backup at " + planned, 1);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        using (var transaction = connection.BeginTransaction())
        {
            TestDatabase.InsertTransmission(connection, transaction, observations: 1);
            transaction.Commit();
        }

        clock.SetUtcNow(DateTimeOffset.Parse(planned + "Z", System.Globalization.CultureInfo.InvariantCulture));
        await factory.Logs.WaitForAsync(outcome, outcomeCount);
    }

    private static async Task<double> ScheduleSampleAsync(HttpClient client, string outcome) =>
        MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_backups_total", $"outcome=\"{outcome}\"", "trigger=\"schedule\"");
}
