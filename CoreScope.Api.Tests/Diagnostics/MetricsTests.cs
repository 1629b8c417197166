using System.Diagnostics;
using System.Net.Http.Json;
using CoreScope.Data.Diagnostics;
using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Diagnostics;

/// <summary><c>/metrics</c> in Prometheus text format, scraped from a real Kestrel server (docs/operators.md, "What to watch").</summary>
public sealed class MetricsTests : WorkspaceTests
{
    [SetUp]
    public async Task CreateDatabase()
    {
        await CreateDatabaseAsync(transmissions: 20);
    }

    [Test]
    public async Task Metrics_AfterBackupsAndIngest_CountThem_BesideTheFrameworksOwnMeters_AndNeverTheKey()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        factory.StartKestrel();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);

        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetAsync("/api/backup?compress=gzip")).StatusCode.Should().Be(HttpStatusCode.OK);
        BreakTempFolder();
        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.InternalServerError);
        (await client.GetAsync("/api/backup?compress=zip")).StatusCode.Should().Be(HttpStatusCode.BadRequest, "a refused request is no backup attempt");
        (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert, observerId = "OTHER" })).EnsureSuccessStatusCode();
        (await client.PostAsJsonAsync("/api/packets", new { hex = "zz" })).StatusCode.Should().Be(HttpStatusCode.BadRequest);

        var text = "";
        await Eventually.TrueAsync(async () =>
        {
            text = await client.GetStringAsync("/metrics");
            return text.Contains("outcome=\"failure\"", StringComparison.Ordinal);
        }, "the failed backup in /metrics");

        Sample(text, "corescope_backups_total", "outcome=\"success\"", "trigger=\"download\"").Should().Be(2);
        Sample(text, "corescope_backups_total", "outcome=\"failure\"", "trigger=\"download\"").Should().Be(1);
        Sample(text, "corescope_backup_duration_seconds_count", "trigger=\"download\"").Should().Be(2);
        Sample(text, "corescope_backup_bytes_total", "trigger=\"download\"").Should().BePositive();
        Sample(text, "corescope_backup_last_success_timestamp_seconds").Should().BeApproximately(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 60);
        Sample(text, "corescope_backup_last_failure_timestamp_seconds").Should().BeApproximately(DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 60);
        Sample(text, "corescope_ingest_packets_total", "outcome=\"new\"").Should().Be(1);
        Sample(text, "corescope_ingest_packets_total", "outcome=\"known\"").Should().Be(1);
        Sample(text, "corescope_ingest_packets_total", "outcome=\"rejected\"").Should().Be(1);

        // The backup's permits: granted only to the two that started, not to the 500 before its folder nor to the 400.
        Sample(text, "corescope_backup_permits_total", "outcome=\"granted\"").Should().Be(2);
        Sample(text, "corescope_backup_permits_total", "outcome=\"refused\"").Should().Be(0);

        // The framework's own: requests by route template, Kestrel's connections.
        Sample(text, "http_server_request_duration_seconds_count", "http_route=\"api/backup\"", "http_response_status_code=\"200\"").Should().Be(2);
        text.Should().Contain("kestrel_active_connections");

        text.Should().NotContain(CoreScopeApiFactory.StrongApiKey).And.NotContain("X-API-Key", "no label may carry the key");
    }

    [Test]
    public async Task Metrics_WhatTheStoreTheScheduleTheDrillsAndTheRestoresRecord_IsPublished()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        using var client = factory.CreateClient(key: null);

        // The calls issues 12 and 13 make, through the server's own BackupActivity.
        var activity = factory.Services.GetRequiredService<BackupActivity>();
        activity.SetStoredBackups(
        [
            new StoredBackupSummary("20300101T030000Z-000003", DateTimeOffset.UtcNow.AddDays(400), 1_000_000, "schedule", IsGood: true),
            new StoredBackupSummary("20300101T030000Z-000002", DateTimeOffset.UtcNow, 1_000_000, "schedule", IsGood: true),
            new StoredBackupSummary("20300101T030000Z-000001", DateTimeOffset.UtcNow.AddDays(-1), 1_000_000, "manual", IsGood: false),
        ]);
        activity.SetNextScheduledAt(new DateTimeOffset(2030, 1, 2, 3, 0, 0, TimeSpan.Zero));
        activity.RecordBackupSucceeded(BackupTrigger.Schedule, 1_000_000, TimeSpan.FromSeconds(4), "20300101T030000Z");
        activity.RecordDrill("20300101T030000Z", CheckOutcome.Passed, TimeSpan.FromSeconds(2));
        activity.RecordDrill("20300101T030000Z", CheckOutcome.Failed, TimeSpan.FromSeconds(2), "rows differ");
        activity.RecordRestore(succeeded: true, TimeSpan.FromSeconds(6));
        activity.RecordOffsiteFailed("s3-eu", "20300101T030000Z", "403 Forbidden");

        var text = await client.GetStringAsync("/metrics");
        Sample(text, "corescope_backups_stored").Should().Be(3);
        Sample(text, "corescope_backups_stored_size_bytes").Should().Be(3_000_000);
        Sample(text, "corescope_backups_stored_future_dated").Should().Be(1);
        Sample(text, "corescope_backup_next_scheduled_timestamp_seconds").Should().Be(new DateTimeOffset(2030, 1, 2, 3, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds());
        Sample(text, "corescope_backups_total", "outcome=\"success\"", "trigger=\"schedule\"").Should().Be(1);
        Sample(text, "corescope_drills_total", "outcome=\"passed\"").Should().Be(1);
        Sample(text, "corescope_drills_total", "outcome=\"failed\"").Should().Be(1);
        Sample(text, "corescope_drill_last_passed_timestamp_seconds").Should().BePositive();
        Sample(text, "corescope_restores_total", "outcome=\"success\"").Should().Be(1);
        Sample(text, "corescope_restore_duration_seconds_count", "outcome=\"success\"").Should().Be(1);
        Sample(text, "corescope_offsite_copies_total", "outcome=\"failure\"", "target=\"s3-eu\"").Should().Be(1);

        using var health = await client.GetAsync("/api/health");
        var body = await health.Content.ReadAsStringAsync();
        body.Should().Contain("\"nextScheduledAt\":\"2030-01-02T03:00:00.000Z\"").And.Contain("\"lastDrillOutcome\":\"failed\"");
    }

    [Test]
    public async Task Metrics_Disabled_Answers404()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey,
            new Dictionary<string, string?> { ["CoreScope:Metrics:Enabled"] = "false" });
        using var client = factory.CreateClient(key: null);
        (await client.GetAsync("/metrics")).StatusCode.Should().Be(HttpStatusCode.NotFound);
        (await client.GetAsync("/api/health")).StatusCode.Should().Be(HttpStatusCode.OK);
    }

    [Test]
    public async Task Metrics_ScrapeTime_IsMeasured_AndStaysSmall()
    {
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        factory.StartKestrel();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        for (var i = 0; i < 3; i++)
        {
            (await client.GetAsync("/api/backup")).EnsureSuccessStatusCode();
            await client.GetStringAsync("/api/stats");
        }

        var first = Stopwatch.StartNew();
        var body = await client.GetStringAsync("/metrics");
        first.Stop();
        var times = new List<double>();
        for (var i = 0; i < 50; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            using var response = await client.GetAsync("/metrics");
            await response.Content.ReadAsByteArrayAsync();
            times.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        var median = times[times.Count / 2];
        var p95 = times[(int)(times.Count * 0.95)];
        TestContext.Out.WriteLine($"/metrics: {body.Length} bytes, {body.Split('\n').Count(line => line.Length > 0 && line[0] != '#')} samples; first scrape {first.Elapsed.TotalMilliseconds:0.0} ms, then median {median:0.00} ms, p95 {p95:0.00} ms, max {times[^1]:0.00} ms over 50");
        median.Should().BeLessThan(100, "a scrape every 15 s must cost the server next to nothing");
    }

    /// <summary>The value of the one sample of <paramref name="metric"/> whose labels include all of <paramref name="labels"/>.</summary>
    public static double Sample(string exposition, string metric, params string[] labels)
    {
        var lines = exposition.Split('\n')
            .Where(line => line.StartsWith(metric + "{", StringComparison.Ordinal) || line.StartsWith(metric + " ", StringComparison.Ordinal))
            .Where(line => labels.All(label => line.Contains(label, StringComparison.Ordinal)))
            .ToList();
        lines.Should().ContainSingle($"one sample of {metric} with {string.Join(", ", labels)} in:\n{exposition}");
        var value = lines[0][(lines[0].LastIndexOf(' ') + 1)..];
        return double.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private void BreakTempFolder()
    {
        Directory.Delete(Workspace.BackupTempDirectory, recursive: true);
        File.WriteAllText(Workspace.BackupTempDirectory, "not a folder");
    }
}
