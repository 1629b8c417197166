using CoreScope.Api.Tests.Backup;
using CoreScope.Data.Backup;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CoreScope.Api.Tests.Drills;

/// <summary>docs/backup.md "Restore drills", the schedule: CoreScope:Backup:DrillSchedule drills the newest good backup at its cron times.</summary>
public sealed class DrillScheduleTests : WorkspaceTests
{
    private static readonly DateTimeOffset NewYear = new(2026, 1, 1, 2, 59, 0, TimeSpan.Zero);

    private FakeTimeProvider _clock = null!;

    [SetUp]
    public async Task CreateDatabase()
    {
        _clock = new FakeTimeProvider(NewYear);
        await CreateDatabaseAsync(transmissions: 80);
    }

    [Test]
    public async Task DrillSchedule_DrillsTheNewestGoodBackup_AtTheCronTime_AndNotBefore()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var server = CreateServer(_clock, ("CoreScope:Backup:DrillSchedule", "30 4 * * *"), ("CoreScope:Notify:WebhookUrl", receiver.Url));
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await server.Logs.WaitForAsync("Next scheduled drill at 2026-01-01T04:30:00");
        var older = (await StoredBackups.StoreAsync(client)).Id();
        _clock.Advance(TimeSpan.FromMinutes(1));
        var newer = await StoredBackups.StoreAsync(client);

        _clock.Advance(TimeSpan.FromMinutes(89));
        await Task.Delay(300);
        (await StoredBackups.ListAsync(client)).GetProperty("backups").EnumerateArray()
            .Should().AllSatisfy(backup => backup.GetProperty("drill").ValueKind.Should().Be(JsonValueKind.Null), "it is not 04:30 yet");

        _clock.Advance(TimeSpan.FromMinutes(1));

        await server.Logs.WaitForAsync($"Scheduled drill of 2026-01-01T04:30:00.0000000+00:00: stored backup {newer.Id()} passed");
        var backups = (await StoredBackups.ListAsync(client)).GetProperty("backups").EnumerateArray().ToDictionary(backup => backup.Id());
        var drill = backups[newer.Id()].GetProperty("drill");
        drill.GetProperty("outcome").GetString().Should().Be("passed");
        drill.GetProperty("at").GetDateTime().Should().Be(new DateTime(2026, 1, 1, 4, 30, 0, DateTimeKind.Utc));
        backups[older].GetProperty("drill").ValueKind.Should().Be(JsonValueKind.Null, "only the newest good backup is drilled");

        // The next night the newest backup was altered on disk: the scheduled drill fails, and the webhook names it.
        await server.Logs.WaitForAsync("Next scheduled drill at 2026-01-02T04:30:00");
        var file = Path.Combine(StoredBackups.DefaultFolder(Workspace.DatabasePath), newer.GetProperty("fileName").GetString()!);
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);
        _clock.Advance(TimeSpan.FromDays(1));

        await server.Logs.WaitForAsync($"stored backup {newer.Id()} failed");
        await receiver.WaitForBodiesAsync(1);
        using var alert = JsonDocument.Parse(receiver.Bodies[0]);
        alert.RootElement.GetProperty("event").GetString().Should().Be("drill.failed");
        alert.RootElement.GetProperty("backupId").GetString().Should().Be(newer.Id());
    }

    [Test]
    public async Task ScheduledDrill_WhileABackupHoldsTheGate_IsRetriedAfterRetryDelaySeconds()
    {
        var server = CreateServer(_clock, ("CoreScope:Backup:DrillSchedule", "0 4 * * *"), ("CoreScope:Backup:RetryDelaySeconds", "30"));
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await server.Logs.WaitForAsync("Next scheduled drill at 2026-01-01T04:00:00");
        var stored = await StoredBackups.StoreAsync(client);
        var held = await server.Services.GetRequiredService<BackupService>().CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(61));
        await server.Logs.WaitForAsync("could not run (attempt 1 of 4), retrying in 30 s: A backup is already running");
        await held.DisposeAsync();
        _clock.Advance(TimeSpan.FromSeconds(30));

        await server.Logs.WaitForAsync($"stored backup {stored.Id()} passed");
    }

    [Test]
    public async Task NoDrillSchedule_NoScheduledDrills()
    {
        var server = CreateServer(_clock);
        using var client = server.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await StoredBackups.StoreAsync(client);

        await server.Logs.WaitForAsync("No drill schedule (CoreScope:Backup:DrillSchedule is empty)");
        _clock.Advance(TimeSpan.FromDays(2));
        await Task.Delay(300);

        (await StoredBackups.ListAsync(client)).GetProperty("backups")[0].GetProperty("drill").ValueKind.Should().Be(JsonValueKind.Null);
    }

    [TestCase("61 * * * *")]
    [TestCase("every night")]
    [TestCase("0 3 * *")]
    public void BadDrillSchedule_StopsTheServerAtStart_NamingTheSetting(string value)
    {
        var server = CreateServer(("CoreScope:Backup:DrillSchedule", value));

        var start = () => server.CreateClient(CoreScopeApiFactory.StrongApiKey);

        start.Should().Throw<Exception>().Which.ToString().Should().Contain("CoreScope:Backup:DrillSchedule").And.Contain(value);
    }
}
