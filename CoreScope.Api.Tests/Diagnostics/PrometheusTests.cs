using System.Text.RegularExpressions;

namespace CoreScope.Api.Tests.Diagnostics;

/// <summary>
/// The real Prometheus (Debian's <c>prometheus</c> and <c>promtool</c>, installed by <c>.ci/setup</c>) against the real
/// server: it scrapes <c>/metrics</c> and answers PromQL, and the guide's alert rules load and fire when they should.
/// </summary>
public sealed partial class PrometheusTests : WorkspaceTests
{
    private static readonly string Guide = Path.Combine(ExternalTools.RepositoryRoot, "docs", "operators.md");

    [GeneratedRegex(@"<!-- prometheus-rules -->\s*```yaml\n(?<rules>.*?)```", RegexOptions.Singleline)]
    private static partial Regex RulesBlock();

    [Test]
    [Category("Slow")]
    public async Task Prometheus_ScrapesTheServer_AndPromQLCountsTwoBackups()
    {
        if (PrometheusServer.Binary is null)
        {
            Assert.Ignore("Debian's prometheus is not installed (apt-get install prometheus; .ci/setup does it).");
        }

        await CreateDatabaseAsync(transmissions: 50);
        await using var factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey);
        var address = factory.StartKestrel();
        using var client = factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        await using var prometheus = await PrometheusServer.StartAsync(Path.Combine(Workspace.Root, "prometheus"), address);

        // Scraped before any backup: the series exists at 0, so an alert on increase() sees the first one.
        await prometheus.WaitForValueAsync("corescope_backups_total{job=\"corescope\",trigger=\"download\",outcome=\"success\"}", "0");

        (await client.GetAsync("/api/backup")).StatusCode.Should().Be(HttpStatusCode.OK);
        (await client.GetAsync("/api/backup?compress=gzip")).StatusCode.Should().Be(HttpStatusCode.OK);

        var result = await prometheus.WaitForValueAsync("corescope_backups_total{job=\"corescope\",trigger=\"download\",outcome=\"success\"}", "2");
        result[0].GetProperty("metric").GetProperty("instance").GetString().Should().Be(address.Authority);
        (await prometheus.QueryAsync("sum(corescope_backups_total{outcome=\"failure\"})"))[0].GetProperty("value")[1].GetString().Should().Be("0");
        (await prometheus.QueryAsync("up{job=\"corescope\"}"))[0].GetProperty("value")[1].GetString().Should().Be("1");
        var age = await prometheus.QueryAsync("time() - corescope_backup_last_success_timestamp_seconds");
        double.Parse(age[0].GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture).Should().BeLessThan(120);
        (await prometheus.QueryAsync("http_server_request_duration_seconds_count{http_route=\"api/backup\"}")).GetArrayLength().Should().BePositive();

        // Prometheus's own measure of the scrape, over the last minute of one-second scrapes.
        var scrape = await prometheus.QueryAsync("max_over_time(scrape_duration_seconds{job=\"corescope\"}[1m]) * 1000");
        var median = await prometheus.QueryAsync("quantile_over_time(0.5, scrape_duration_seconds{job=\"corescope\"}[1m]) * 1000");
        TestContext.Out.WriteLine($"Prometheus scrape_duration_seconds: median {median[0].GetProperty("value")[1].GetString()} ms, max {scrape[0].GetProperty("value")[1].GetString()} ms");
    }

    [Test]
    public async Task OperatorsGuide_AlertRules_AreValid_AndFireOnAStaleBackupAndAFailedDrill()
    {
        if (PrometheusServer.Promtool is not { } promtool)
        {
            Assert.Ignore("Debian's promtool is not installed (apt-get install prometheus; .ci/setup does it).");
            return;
        }

        var rules = RulesBlock().Match(await File.ReadAllTextAsync(Guide)).Groups["rules"].Value;
        rules.Should().NotBeEmpty("docs/operators.md has a <!-- prometheus-rules --> yaml block");
        var folder = Path.Combine(Workspace.Root, "rules");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "rules.yml"), rules);

        var (checkExit, checkOut, checkError) = await ExternalTools.RunAsync(promtool, ["check", "rules", Path.Combine(folder, "rules.yml")]);
        checkExit.Should().Be(0, checkOut + checkError);

        // promtool compares annotations too; the firing is what is tested here, so the test copy drops them.
        await File.WriteAllTextAsync(Path.Combine(folder, "bare.yml"), WithoutAnnotations(rules));
        await File.WriteAllTextAsync(Path.Combine(folder, "test.yml"), """
            rule_files:
              - bare.yml
            evaluation_interval: 1m
            tests:
              # A server whose last good backup was at Unix time 0, scraped every minute, never backing up again;
              # its drills: none failed for two hours, then one.
              - interval: 1m
                input_series:
                  - series: 'corescope_backup_last_success_timestamp_seconds{job="corescope",instance="box:5080"}'
                    values: '0+0x2000'
                  - series: 'corescope_drills_total{job="corescope",instance="box:5080",outcome="failed"}'
                    values: '0+0x120 1+0x2000'
                  - series: 'corescope_backups_total{job="corescope",instance="box:5080",outcome="failure",trigger="schedule"}'
                    values: '0+0x2000'
                alert_rule_test:
                  - eval_time: 25h
                    alertname: CoreScopeNoGoodBackup
                    exp_alerts: []
                  - eval_time: 27h
                    alertname: CoreScopeNoGoodBackup
                    exp_alerts:
                      - exp_labels: { severity: critical, job: corescope, instance: "box:5080" }
                  - eval_time: 1h
                    alertname: CoreScopeDrillFailed
                    exp_alerts: []
                  - eval_time: 3h
                    alertname: CoreScopeDrillFailed
                    exp_alerts:
                      - exp_labels: { severity: critical, job: corescope, instance: "box:5080", outcome: failed }
                  - eval_time: 3h
                    alertname: CoreScopeBackupsFailing
                    exp_alerts: []
                  - eval_time: 3h
                    alertname: CoreScopeNoBackupKnown
                    exp_alerts: []
              # A server that has reported no good backup at all: quiet for 26 hours, then an alert.
              - interval: 1m
                input_series:
                  - series: 'up{job="corescope",instance="box:5080"}'
                    values: '1+0x2000'
                alert_rule_test:
                  - eval_time: 25h
                    alertname: CoreScopeNoBackupKnown
                    exp_alerts: []
                  - eval_time: 27h
                    alertname: CoreScopeNoBackupKnown
                    exp_alerts:
                      - exp_labels: { severity: critical, job: corescope }
            """);
        var (testExit, testOut, testError) = await ExternalTools.RunAsync(promtool, ["test", "rules", Path.Combine(folder, "test.yml")]);
        testExit.Should().Be(0, testOut + testError);
    }

    // Drops each "annotations:" mapping: the line and every line indented deeper than it.
    private static string WithoutAnnotations(string rules)
    {
        var kept = new List<string>();
        var skipDeeperThan = -1;
        foreach (var line in rules.Split('\n'))
        {
            var indent = line.Length - line.TrimStart().Length;
            if (skipDeeperThan >= 0 && (line.Trim().Length == 0 || indent > skipDeeperThan))
            {
                continue;
            }

            skipDeeperThan = -1;
            if (line.TrimStart().StartsWith("annotations:", StringComparison.Ordinal))
            {
                skipDeeperThan = indent;
                continue;
            }

            kept.Add(line);
        }

        return string.Join('\n', kept);
    }
}
