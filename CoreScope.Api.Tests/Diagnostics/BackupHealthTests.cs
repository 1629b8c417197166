using CoreScope.Api.Tests.Backup;
using CoreScope.Data.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace CoreScope.Api.Tests.Diagnostics;

/// <summary>
/// <c>/api/health</c>'s backup member and the "degraded" state (docs/operators.md, "What to watch"), on a clock the
/// test drives: a FakeTimeProvider is the server's TimeProvider.
/// </summary>
public sealed class BackupHealthTests : WorkspaceTests
{
    private FakeTimeProvider _clock = null!;

    [SetUp]
    public async Task CreateDatabase()
    {
        _clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 2, 0, 0, TimeSpan.Zero));
        await CreateDatabaseAsync(transmissions: 20);
    }

    [Test]
    public async Task Health_AfterADownload_ReportsWhenAndHowBig_AndItsAgeFollowsTheClock()
    {
        await using var factory = Server();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        using (var before = await HealthAsync(client))
        {
            var backup = before.RootElement.GetProperty("backup");
            backup.GetProperty("lastSuccessAt").ValueKind.Should().Be(JsonValueKind.Null);
            backup.GetProperty("lastSuccessAgeSeconds").ValueKind.Should().Be(JsonValueKind.Null);
            backup.GetProperty("nextScheduledAt").ValueKind.Should().Be(JsonValueKind.Null);
            backup.GetProperty("lastDrillAt").ValueKind.Should().Be(JsonValueKind.Null);
            backup.GetProperty("lastDrillOutcome").ValueKind.Should().Be(JsonValueKind.Null);
        }

        var bytes = await client.GetByteArrayAsync("/api/backup");
        await UntilAsync(client, backup => backup.GetProperty("lastSuccessAt").ValueKind != JsonValueKind.Null);

        _clock.Advance(TimeSpan.FromSeconds(90));
        using var after = await HealthAsync(client);
        var reported = after.RootElement.GetProperty("backup");
        reported.GetProperty("lastSuccessAt").GetString().Should().Be("2026-03-01T02:00:00.000Z");
        reported.GetProperty("lastSuccessAgeSeconds").GetDouble().Should().Be(90);
        reported.GetProperty("lastSuccessSizeBytes").GetInt64().Should().Be(bytes.Length);
        reported.GetProperty("lastFailureAt").ValueKind.Should().Be(JsonValueKind.Null);
        after.RootElement.GetProperty("status").GetString().Should().Be("ok");
    }

    [Test]
    public async Task Health_FailedDownload_ReportsTheFailureAndItsReason_AndKeepsTheLastSuccess()
    {
        await using var factory = Server();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        await UntilAsync(client, backup => backup.GetProperty("lastSuccessAt").ValueKind != JsonValueKind.Null);

        _clock.Advance(TimeSpan.FromMinutes(5));
        BreakTempFolder();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);

        await UntilAsync(client, backup => backup.GetProperty("lastFailureAt").ValueKind != JsonValueKind.Null);
        using var health = await HealthAsync(client);
        var reported = health.RootElement.GetProperty("backup");
        reported.GetProperty("lastFailureAt").GetString().Should().Be("2026-03-01T02:05:00.000Z");
        reported.GetProperty("lastFailureReason").GetString().Should().Contain("The snapshot failed (IOException)", "the reason says what failed")
            .And.NotContain(Workspace.BackupTempDirectory, "health is public: server paths go to the log only");
        reported.GetProperty("lastSuccessAt").GetString().Should().Be("2026-03-01T02:00:00.000Z");
    }

    [Test]
    public async Task Health_NewestBackupOlderThanMaxAgeHours_IsDegradedWith200_AndHealthBackupIs503()
    {
        await using var factory = Server(maxAgeHours: "1");
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        await UntilAsync(client, backup => backup.GetProperty("lastSuccessAt").ValueKind != JsonValueKind.Null);

        _clock.Advance(TimeSpan.FromMinutes(59));
        (await StatusAsync(client)).Should().Be((HttpStatusCode.OK, "ok"));
        (await client.GetAsync("/api/health/backup")).StatusCode.Should().Be(HttpStatusCode.OK);

        _clock.Advance(TimeSpan.FromMinutes(2));
        (await StatusAsync(client)).Should().Be((HttpStatusCode.OK, "degraded"), "the server works; only its backups are stale");
        using (var stale = await HealthAsync(client))
        {
            stale.RootElement.GetProperty("backup").GetProperty("stale").GetBoolean().Should().BeTrue();
            stale.RootElement.GetProperty("backup").GetProperty("maxAgeHours").GetDouble().Should().Be(1);
        }

        using var backupOnly = await client.GetAsync("/api/health/backup");
        backupOnly.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable, "a checker that reads only status codes must see stale backups");
        (await backupOnly.Content.ReadAsStringAsync()).Should().Contain("\"stale\":true");

        // A new good backup ends it.
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        await UntilAsync(client, backup => !backup.GetProperty("stale").GetBoolean());
        (await StatusAsync(client)).Should().Be((HttpStatusCode.OK, "ok"));
    }

    [Test]
    public async Task Health_NoBackupSinceStart_GetsMaxAgeHoursFromTheStartBeforeItIsDegraded()
    {
        await using var factory = Server(maxAgeHours: "2");
        using var client = factory.CreateClient(key: null);

        _clock.Advance(TimeSpan.FromHours(2) - TimeSpan.FromMinutes(1));
        (await StatusAsync(client)).Should().Be((HttpStatusCode.OK, "ok"), "a server that just started is given MaxAgeHours to make a backup");

        _clock.Advance(TimeSpan.FromMinutes(2));
        (await StatusAsync(client)).Should().Be((HttpStatusCode.OK, "degraded"));
    }

    [Test]
    public async Task Health_WithoutMaxAgeHours_IsNeverDegradedByAge()
    {
        await using var factory = Server();
        using var client = factory.CreateClient(key: null);

        _clock.Advance(TimeSpan.FromDays(400));
        (await StatusAsync(client)).Should().Be((HttpStatusCode.OK, "ok"));
        (await client.GetAsync("/api/health/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    public async Task Health_UnreadableDatabase_IsDown503_EvenWhenBackupsAreStaleToo()
    {
        await using var factory = Server(maxAgeHours: "1");
        using var client = factory.CreateClient(key: null);
        _clock.Advance(TimeSpan.FromHours(2));
        (await StatusAsync(client)).Should().Be((HttpStatusCode.OK, "degraded"));

        File.Move(Workspace.DatabasePath, Workspace.DatabasePath + ".moved");
        (await StatusAsync(client)).Should().Be((HttpStatusCode.ServiceUnavailable, "down"), "down outranks degraded, and only down is a 503");
    }

    [Test]
    public async Task Health_AfterARestart_TakesTheNewestStoredBackupTheStoreRemembers_WithoutCountingIt()
    {
        await using var factory = Server(maxAgeHours: "26");
        using var client = factory.CreateClient(key: null);
        var activity = factory.Services.GetRequiredService<BackupActivity>();

        // What the store reports at start from its catalogue, newest first in its order: the newest good one is 30 hours old, so stale.
        activity.SetStoredBackups(
        [
            new StoredBackupSummary("20260227T200000Z-000001", _clock.GetUtcNow().AddHours(-30), 4096, "schedule", IsGood: true),
            new StoredBackupSummary("20260227T100000Z-000002", _clock.GetUtcNow().AddHours(-40), 2048, "manual", IsGood: true),
        ]);

        using var health = await HealthAsync(client);
        health.RootElement.GetProperty("status").GetString().Should().Be("degraded", "the newest stored backup is 30 hours old, MaxAgeHours 26");
        var backup = health.RootElement.GetProperty("backup");
        backup.GetProperty("lastSuccessAt").GetString().Should().Be("2026-02-27T20:00:00.000Z", "the store's newest, not an older one");
        backup.GetProperty("storedCount").GetInt32().Should().Be(2);
        backup.GetProperty("lastSuccessSizeBytes").GetInt64().Should().Be(4096);
        backup.GetProperty("lastSuccessAgeSeconds").GetDouble().Should().Be(30 * 3600);
        MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_backups_total", "outcome=\"success\"", "trigger=\"schedule\"")
            .Should().Be(0, "a backup found on disk is not a backup made now");
    }

    [Test]
    public async Task Health_AfterStoredBackupsAreDeleted_CountsTheNewestLeft_AndAnEmptiedStoreIsNotFresh()
    {
        await using var factory = Server(maxAgeHours: "26");
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        var older = (await StoredBackups.StoreAsync(client)).Id();
        _clock.Advance(TimeSpan.FromHours(1));
        var newer = (await StoredBackups.StoreAsync(client)).Id();
        _clock.Advance(TimeSpan.FromMinutes(10));

        var both = (await HealthAsync(client)).RootElement.GetProperty("backup");
        both.GetProperty("lastSuccessAt").GetString().Should().Be("2026-03-01T03:00:00.000Z");
        both.GetProperty("storedCount").GetInt32().Should().Be(2);

        (await client.DeleteAsync($"/api/backups/{newer}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        using (var oneLeft = await HealthAsync(client))
        {
            var backup = oneLeft.RootElement.GetProperty("backup");
            backup.GetProperty("lastSuccessAt").GetString().Should().Be("2026-03-01T02:00:00.000Z", "a deleted backup is no backup; the newest left counts");
            backup.GetProperty("lastSuccessAgeSeconds").GetDouble().Should().Be(70 * 60);
            backup.GetProperty("storedCount").GetInt32().Should().Be(1);
            oneLeft.RootElement.GetProperty("status").GetString().Should().Be("ok");
        }

        (await client.DeleteAsync($"/api/backups/{older}")).StatusCode.Should().Be(HttpStatusCode.NoContent);
        using (var emptied = await HealthAsync(client))
        {
            var backup = emptied.RootElement.GetProperty("backup");
            backup.GetProperty("storedCount").GetInt32().Should().Be(0);
            backup.GetProperty("lastSuccessAt").ValueKind.Should().Be(JsonValueKind.Null);
            backup.GetProperty("stale").GetBoolean().Should().BeTrue("the store held backups and holds none now, an hour after the server started");
            emptied.RootElement.GetProperty("status").GetString().Should().Be("degraded");
        }

        (await client.GetAsync("/api/health/backup")).StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        MetricsTests.Sample(await client.GetStringAsync("/metrics"), "corescope_backups_stored").Should().Be(0);
        (await client.GetStringAsync("/metrics")).Split('\n').Should().NotContain(
            line => line.StartsWith("corescope_backup_last_success_timestamp_seconds", StringComparison.Ordinal),
            "no good backup is known, so the alert rule CoreScopeNoBackupKnown sees the series absent");
    }

    [Test]
    public void MaxAgeHours_NotAPositiveNumber_StopsTheServerAtStart()
    {
        using var factory = Server(maxAgeHours: "0");
        var start = () => factory.CreateClient(key: null);
        start.Should().Throw<Microsoft.Extensions.Options.OptionsValidationException>().WithMessage("*MaxAgeHours*");
    }

    private CoreScopeApiFactory Server(string? maxAgeHours = null) =>
        new(Workspace, CoreScopeApiFactory.StrongApiKey, new Dictionary<string, string?> { ["CoreScope:Backup:MaxAgeHours"] = maxAgeHours })
        {
            ConfigureServices = services => services.AddSingleton<TimeProvider>(_clock),
        };

    // A file where the temp folder should be: every snapshot fails until it is a folder again.
    private void BreakTempFolder()
    {
        Directory.Delete(Workspace.BackupTempDirectory, recursive: true);
        File.WriteAllText(Workspace.BackupTempDirectory, "not a folder");
    }

    private static async Task<JsonDocument> HealthAsync(HttpClient client) =>
        JsonDocument.Parse(await client.GetStringAsync("/api/health"));

    private static async Task<(HttpStatusCode, string?)> StatusAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/health");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, body.RootElement.GetProperty("status").GetString());
    }

    // The outcome of a download is recorded when its response has ended, a moment after the client has it all.
    private static Task UntilAsync(HttpClient client, Func<JsonElement, bool> condition) =>
        Eventually.TrueAsync(async () =>
        {
            using var health = await HealthAsync(client);
            return condition(health.RootElement.GetProperty("backup"));
        }, "health's backup member");
}
