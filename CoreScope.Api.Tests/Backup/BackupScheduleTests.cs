using System.Net.Http.Json;
using CoreScope.Data.Backup;
using CoreScope.Api.Tests.Diagnostics;
using CoreScope.Data.Store;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CoreScope.Api.Tests.Backup;

/// <summary>docs/backup.md "Schedule" and "Retention": runs at cron times, skips, retries, and what retention leaves on disk.</summary>
public sealed class BackupScheduleTests : WorkspaceTests
{
    private static readonly DateTimeOffset NewYear = new(2026, 1, 1, 2, 59, 0, TimeSpan.Zero);

    private FakeTimeProvider _clock = null!;

    [SetUp]
    public async Task CreateDatabase()
    {
        _clock = new FakeTimeProvider(NewYear);
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 100);
    }

    private CoreScopeApiFactory StartServer(Dictionary<string, string?> settings, bool fakeClock = true) =>
        new(Workspace, CoreScopeApiFactory.StrongApiKey, settings)
        {
            ConfigureServices = fakeClock ? services => services.AddSingleton<TimeProvider>(_clock) : null,
        };

    private void WriteFromAnotherConnection()
    {
        using var connection = TestDatabase.Open(Workspace.DatabasePath);
        using var transaction = connection.BeginTransaction();
        TestDatabase.InsertTransmission(connection, transaction, observations: 1);
        transaction.Commit();
    }

    [Test]
    public async Task Schedule_StoresAtTheCronTime_SkipsWhenNothingChanged_AndStoresAfterAnotherProcessWrote()
    {
        await using var factory = StartServer(new() { ["CoreScope:Backup:Schedule"] = "0 3 * * *" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-01T03:00:00");
        (await StoredBackups.IdsAsync(client)).Should().BeEmpty("it is not three o'clock yet");

        _clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Logs.WaitForAsync("stored as");
        var first = (await StoredBackups.ListAsync(client)).GetProperty("backups").EnumerateArray().Should().ContainSingle().Subject;
        first.GetProperty("trigger").GetString().Should().Be("schedule");
        first.GetProperty("createdAt").GetDateTime().Should().Be(new DateTime(2026, 1, 1, 3, 0, 0, DateTimeKind.Utc));

        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-02T03:00:00");
        _clock.Advance(TimeSpan.FromDays(1));
        await factory.Logs.WaitForAsync("Scheduled backup of 2026-01-02T03:00:00.0000000+00:00 skipped: nothing was written");
        (await StoredBackups.IdsAsync(client)).Should().ContainSingle();

        // The sqlite3 program is another process: its commit is seen through PRAGMA data_version.
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-03T03:00:00");
        var (exitCode, _, error) = await ExternalTools.RunAsync("sqlite3",
            ["-cmd", ".timeout 10000", Workspace.DatabasePath, "UPDATE nodes SET name = 'renamed by another process' WHERE rowid = 1;"]);
        exitCode.Should().Be(0, error);
        _clock.Advance(TimeSpan.FromDays(1));
        await factory.Logs.WaitForAsync("stored as", count: 2);
        (await StoredBackups.IdsAsync(client)).Should().HaveCount(2);
    }

    [Test]
    public async Task Schedule_AfterAManualBackup_SkipsUntilSomethingIsWritten()
    {
        await using var factory = StartServer(new() { ["CoreScope:Backup:Schedule"] = "0 3 * * *" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-01T03:00:00");
        await StoredBackups.StoreAsync(client);

        _clock.Advance(TimeSpan.FromMinutes(1));

        await factory.Logs.WaitForAsync("skipped: nothing was written");
        (await StoredBackups.IdsAsync(client)).Should().ContainSingle("the manual backup already holds everything");
    }

    [Test]
    public async Task FailedRun_IsRetriedWithDoublingWaits_AndEachFailureLogged()
    {
        await using var factory = StartServer(new()
        {
            ["CoreScope:Backup:Schedule"] = "0 3 * * *",
            ["CoreScope:Backup:RetryAttempts"] = "3",
            ["CoreScope:Backup:RetryDelaySeconds"] = "60",
        });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-01T03:00:00");

        // A download's snapshot holds the one place, so the scheduled run finds it busy.
        var held = await factory.Services.GetRequiredService<BackupService>().CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None);
        _clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Logs.WaitForAsync("failed (attempt 1 of 4), retrying in 60 s: A backup is already running");
        _clock.Advance(TimeSpan.FromSeconds(60));
        await factory.Logs.WaitForAsync("failed (attempt 2 of 4), retrying in 120 s");
        await held.DisposeAsync();
        _clock.Advance(TimeSpan.FromSeconds(119));
        await Task.Delay(300);
        (await StoredBackups.IdsAsync(client)).Should().BeEmpty("the second wait is twice the first");

        _clock.Advance(TimeSpan.FromSeconds(1));

        await factory.Logs.WaitForAsync("stored as");
        (await StoredBackups.IdsAsync(client)).Should().ContainSingle();
    }

    [Test]
    public async Task FailedRun_AfterItsLastRetry_IsGivenUpWithAnError_AndTheNextRunStillHappens()
    {
        await using var factory = StartServer(new()
        {
            ["CoreScope:Backup:Schedule"] = "0 3 * * *",
            ["CoreScope:Backup:RetryAttempts"] = "1",
            ["CoreScope:Backup:RetryDelaySeconds"] = "10",
        });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-01T03:00:00");
        var held = await factory.Services.GetRequiredService<BackupService>().CreateSnapshotAsync(new SnapshotRequest(), CancellationToken.None);

        _clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Logs.WaitForAsync("retrying in 10 s");
        _clock.Advance(TimeSpan.FromSeconds(10));

        await factory.Logs.WaitForAsync("failed 2 times and is given up until the next run");
        await held.DisposeAsync();
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-02T03:00:00");
        _clock.Advance(TimeSpan.FromDays(1));
        await factory.Logs.WaitForAsync("stored as");
    }

    [Test]
    public async Task Schedule_InARealKestrelServer_StoresThenSkipsUntilAPacketIsIngested()
    {
        await using var factory = StartServer(new() { ["CoreScope:Backup:Schedule"] = "*/2 * * * * *" }, fakeClock: false);
        factory.StartKestrel();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        await factory.Logs.WaitForAsync("stored as");
        await factory.Logs.WaitForAsync("skipped: nothing was written", count: 2);
        (await StoredBackups.IdsAsync(client)).Should().ContainSingle();

        (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert })).StatusCode.Should().Be(HttpStatusCode.OK);

        await factory.Logs.WaitForAsync("stored as", count: 2);
        var backups = (await StoredBackups.ListAsync(client)).GetProperty("backups").EnumerateArray().ToList();
        backups.Should().HaveCount(2).And.AllSatisfy(backup => backup.GetProperty("trigger").GetString().Should().Be("schedule"));
        backups[0].GetProperty("rows").GetProperty("transmissions").GetInt64().Should().Be(101);
    }

    [Test]
    public async Task Health_ReportsTheStoredBackup_AndTheNextRun_AndRemembersTheNewestAfterARestart()
    {
        await using (var factory = StartServer(new() { ["CoreScope:Backup:Schedule"] = "0 3 * * *" }))
        {
            using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
            await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-01T03:00:00");
            var manifest = await StoredBackups.StoreAsync(client);

            var backup = JsonDocument.Parse(await client.GetStringAsync("/api/health")).RootElement.GetProperty("backup");
            backup.GetProperty("lastSuccessAt").GetString().Should().Be("2026-01-01T02:59:00.000Z");
            backup.GetProperty("lastSuccessSizeBytes").GetInt64().Should().Be(manifest.GetProperty("sizeBytes").GetInt64());
            backup.GetProperty("nextScheduledAt").GetString().Should().Be("2026-01-01T03:00:00.000Z");
        }

        _clock.Advance(TimeSpan.FromMinutes(30));
        await using (var restarted = StartServer(new()))
        {
            using var client = restarted.CreateClient(CoreScopeApiFactory.StrongApiKey);
            var backup = JsonDocument.Parse(await client.GetStringAsync("/api/health")).RootElement.GetProperty("backup");
            backup.GetProperty("lastSuccessAt").GetString().Should().Be("2026-01-01T02:59:00.000Z", "the catalogue outlives the process");
            backup.GetProperty("lastSuccessAgeSeconds").GetDouble().Should().Be(1800);
            backup.GetProperty("nextScheduledAt").ValueKind.Should().Be(JsonValueKind.Null);
        }
    }

    [Test]
    public async Task Schedule_AfterTheLastStoredBackupIsDeleted_StoresAgain_NeverSkipsAsUnchanged()
    {
        await using var factory = StartServer(new() { ["CoreScope:Backup:Schedule"] = "0 3 * * *" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-01T03:00:00");
        _clock.Advance(TimeSpan.FromMinutes(1));
        await factory.Logs.WaitForAsync("stored as");
        var first = (await StoredBackups.IdsAsync(client)).Should().ContainSingle().Subject;
        (await client.DeleteAsync($"/api/backups/{first}")).StatusCode.Should().Be(HttpStatusCode.NoContent);

        // Nothing was written since, but the backup that held this state is gone: skipping would leave the store empty.
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-02T03:00:00");
        _clock.Advance(TimeSpan.FromDays(1));
        await factory.Logs.WaitForAsync("stored as", count: 2);
        factory.Logs.Lines.Should().NotContain(line => line.Message.Contains("skipped", StringComparison.Ordinal));
        factory.Logs.Lines.Should().Contain(line => line.Message.Contains($"the last stored backup, {first}, is no longer in the store", StringComparison.Ordinal));
        (await StoredBackups.IdsAsync(client)).Should().ContainSingle().Which.Should().NotBe(first);

        // With a backup of this state in the store again, the next unchanged run is skipped as before.
        await factory.Logs.WaitForAsync("Next scheduled backup at 2026-01-03T03:00:00");
        _clock.Advance(TimeSpan.FromDays(1));
        await factory.Logs.WaitForAsync("skipped: nothing was written");
        (await StoredBackups.IdsAsync(client)).Should().ContainSingle();
    }

    [TestCase("CoreScope:Backup:Schedule", "61 * * * *")]
    [TestCase("CoreScope:Backup:Schedule", "every night")]
    [TestCase("CoreScope:Backup:Schedule", "0 3 * *")]
    [TestCase("CoreScope:Backup:TimeZone", "Mars/Olympus_Mons")]
    [TestCase("CoreScope:Backup:Retention:KeepDaily", "-1")]
    [TestCase("CoreScope:Backup:Retention:KeepWeekly", "four")]
    [TestCase("CoreScope:Backup:Retention:KeepMonthly", "100001")]
    [TestCase("CoreScope:Backup:RetryAttempts", "-2")]
    public async Task BadScheduleOrRetentionSetting_StopsTheServerAtStart_NamingTheSetting(string setting, string value)
    {
        await using var factory = StartServer(new() { [setting] = value }, fakeClock: false);

        var start = () => factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        start.Should().Throw<Exception>().Which.ToString().Should().Contain(setting);
    }

    [Test]
    public async Task Retention_AfterEachStoredBackup_KeepsLastOne_AndAPreRestoreBackupForADay()
    {
        await using var factory = StartServer(new() { ["CoreScope:Backup:Retention:KeepLast"] = "1" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var store = factory.Services.GetRequiredService<BackupStore>();

        BackupManifest preRestore;
        using (var slot = await factory.Services.GetRequiredService<SnapshotSlots>().AcquireAsync(CancellationToken.None))
        {
            preRestore = await store.StorePreRestoreAsync(slot, CancellationToken.None);
        }

        _clock.Advance(TimeSpan.FromHours(1));
        var older = (await StoredBackups.StoreAsync(client)).Id();
        _clock.Advance(TimeSpan.FromHours(1));
        var newer = (await StoredBackups.StoreAsync(client)).Id();

        (await StoredBackups.IdsAsync(client)).Should().Equal(newer, preRestore.Id);
        Directory.GetFiles(store.Folder).Should().HaveCount(4).And.NotContain(file => file.Contains(older, StringComparison.Ordinal));
        factory.Logs.Lines.Should().Contain(line => line.Message.StartsWith($"Retention removed stored backup {older}", StringComparison.Ordinal));

        _clock.Advance(TimeSpan.FromHours(23));
        var latest = (await StoredBackups.StoreAsync(client)).Id();

        (await StoredBackups.IdsAsync(client)).Should().Equal(latest);
        Directory.GetFiles(store.Folder).Should().HaveCount(2);
    }

    [Test]
    public async Task Retention_WithABackupDatedInTheFuture_KeepsEachNewBackup_AndHealthFlagsTheFutureOne()
    {
        // A store of an earlier version whose clock was a year ahead when it wrote this one (no sequence in its manifest).
        var future = StoredBackups.PlantAsAnEarlierVersion(
            StoredBackups.DefaultFolder(Workspace.DatabasePath), Workspace.DatabasePath, new DateTime(2027, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        await using var factory = StartServer(new() { ["CoreScope:Backup:Retention:KeepLast"] = "2", ["CoreScope:Backup:MaxAgeHours"] = "26" });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        var atStart = await BackupHealthAsync(client);
        atStart.GetProperty("storedCount").GetInt32().Should().Be(1);
        atStart.GetProperty("futureDatedCount").GetInt32().Should().Be(1);
        atStart.GetProperty("lastSuccessAt").ValueKind.Should().Be(JsonValueKind.Null, "a backup dated a year ahead says nothing of how old the backups are");
        MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_backups_stored_future_dated").Should().Be(1);

        _clock.Advance(TimeSpan.FromHours(1));
        var first = await StoredBackups.StoreAsync(client);
        (await StoredBackups.IdsAsync(client)).Should().Equal([first.Id(), future], "the store's newest is the one it just wrote");
        var afterFirst = await BackupHealthAsync(client);
        afterFirst.GetProperty("lastSuccessAt").GetString().Should().Be("2026-01-01T03:59:00.000Z");
        afterFirst.GetProperty("futureDatedCount").GetInt32().Should().Be(1);

        _clock.Advance(TimeSpan.FromHours(1));
        var second = await StoredBackups.StoreAsync(client);
        (await StoredBackups.IdsAsync(client)).Should().Equal([second.Id(), first.Id()], "KeepLast=2 keeps the two the store wrote last, whatever their dates");
        factory.Logs.Lines.Should().Contain(line => line.Message.StartsWith($"Retention removed stored backup {future}", StringComparison.Ordinal));
        second.GetProperty("sequence").GetInt64().Should().Be(first.GetProperty("sequence").GetInt64() + 1);
        var afterSecond = await BackupHealthAsync(client);
        afterSecond.GetProperty("futureDatedCount").GetInt32().Should().Be(0);
        afterSecond.GetProperty("lastSuccessAt").GetString().Should().Be("2026-01-01T04:59:00.000Z");
        MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_backups_stored_future_dated").Should().Be(0);
    }

    private static async Task<JsonElement> BackupHealthAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync("/api/health")).RootElement.GetProperty("backup").Clone();

    [Test]
    [Category("Slow")]
    public async Task Retention_FifteenScheduledNights_Daily3Weekly2_LeavesTheNightsThePolicyNames()
    {
        await using var factory = StartServer(new()
        {
            ["CoreScope:Backup:Schedule"] = "0 3 * * *",
            ["CoreScope:Backup:Retention:KeepDaily"] = "3",
            ["CoreScope:Backup:Retention:KeepWeekly"] = "2",
        });
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        for (var night = 1; night <= 15; night++)
        {
            await factory.Logs.WaitForAsync($"Next scheduled backup at 2026-01-{night:D2}T03:00:00");
            WriteFromAnotherConnection();
            _clock.Advance(night == 1 ? TimeSpan.FromMinutes(1) : TimeSpan.FromDays(1));
            await factory.Logs.WaitForAsync("stored as", count: night);
        }

        // Daily: Jan 15, 14, 13. Weekly: Jan 15 closes nothing yet (ISO week 3), Jan 11 is week 2's Sunday.
        var nights = (await StoredBackups.ListAsync(client)).GetProperty("backups").EnumerateArray()
            .Select(backup => backup.GetProperty("createdAt").GetDateTime().Day).ToList();
        nights.Should().Equal(15, 14, 13, 11);
        Directory.GetFiles(StoredBackups.DefaultFolder(Workspace.DatabasePath)).Should().HaveCount(8);
    }
}
