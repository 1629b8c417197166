using System.Globalization;
using CoreScope.Data.Store;

namespace CoreScope.Api.Tests.Backup;

/// <summary>
/// The retention policy alone, on synthetic lists of dates, as restic tests its own <c>forget</c> policy
/// (restic's internal/restic/snapshot_policy_test.go: a fixed list of times, a policy, the set that must remain).
/// The policy takes the backups newest first in the store's order, as the store hands them over.
/// </summary>
public sealed class RetentionPolicyTests
{
    private static readonly DateTimeOffset Now = At("2026-06-01T12:00:00Z");

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static RetentionCandidate Backup(string iso, string trigger = "schedule", bool good = true) =>
        new(iso, At(iso), trigger, good);

    private static IEnumerable<string> Kept(RetentionPolicy policy, IEnumerable<RetentionCandidate> backups, DateTimeOffset? now = null, TimeZoneInfo? zone = null) =>
        policy.Apply(backups, now ?? Now, zone ?? TimeZoneInfo.Utc).Keep.Keys.Order(StringComparer.Ordinal);

    [Test]
    public void KeepLast_KeepsTheNewestN_WhateverTheirDays()
    {
        var backups = Enumerable.Range(1, 10).Reverse().Select(day => Backup($"2026-05-{day:D2}T03:00:00Z")).ToList();

        var decision = new RetentionPolicy(KeepLast: 3, 0, 0, 0).Apply(backups, Now, TimeZoneInfo.Utc);

        decision.Keep.Keys.Should().BeEquivalentTo("2026-05-10T03:00:00Z", "2026-05-09T03:00:00Z", "2026-05-08T03:00:00Z");
        decision.Remove.Should().HaveCount(7);
        decision.Keep["2026-05-10T03:00:00Z"].Should().Contain("last").And.Contain("newest good backup");
    }

    [Test]
    public void KeepDaily_KeepsTheNewestOfEachOfTheLastNDaysThatHaveABackup()
    {
        RetentionCandidate[] backups =
        [
            Backup("2026-01-05T10:00:00Z"), Backup("2026-01-05T08:00:00Z"),
            Backup("2026-01-04T23:00:00Z"), Backup("2026-01-04T01:00:00Z"),
            Backup("2026-01-02T12:00:00Z"), Backup("2026-01-01T12:00:00Z"),
        ];

        // Jan 3 has no backup, so the third day kept is Jan 2, as restic counts days.
        Kept(new RetentionPolicy(0, KeepDaily: 3, 0, 0), backups)
            .Should().Equal("2026-01-02T12:00:00Z", "2026-01-04T23:00:00Z", "2026-01-05T10:00:00Z");
    }

    [Test]
    public void KeepWeekly_UsesIsoWeeks_AcrossTheYearBoundary()
    {
        // 2026-01-01 is a Thursday, so ISO week 1 of 2026 runs from Monday 2025-12-29 to Sunday 2026-01-04.
        RetentionCandidate[] backups =
        [
            Backup("2026-01-05T03:00:00Z"), // Monday, 2026-W02
            Backup("2026-01-04T03:00:00Z"), // Sunday, 2026-W01
            Backup("2025-12-29T03:00:00Z"), // Monday, 2026-W01 as well
            Backup("2025-12-28T03:00:00Z"), // Sunday, 2025-W52
        ];

        Kept(new RetentionPolicy(0, 0, KeepWeekly: 2, 0), backups).Should().Equal("2026-01-04T03:00:00Z", "2026-01-05T03:00:00Z");
        Kept(new RetentionPolicy(0, 0, KeepWeekly: 3, 0), backups)
            .Should().Equal("2025-12-28T03:00:00Z", "2026-01-04T03:00:00Z", "2026-01-05T03:00:00Z");
    }

    [Test]
    public void KeepMonthly_KeepsTheNewestOfEachMonth()
    {
        RetentionCandidate[] backups =
        [
            Backup("2026-03-02T03:00:00Z"), Backup("2026-02-28T03:00:00Z"), Backup("2026-02-01T03:00:00Z"),
            Backup("2026-01-31T03:00:00Z"), Backup("2025-12-31T03:00:00Z"),
        ];

        Kept(new RetentionPolicy(0, 0, 0, KeepMonthly: 3), backups)
            .Should().Equal("2026-01-31T03:00:00Z", "2026-02-28T03:00:00Z", "2026-03-02T03:00:00Z");
    }

    [Test]
    public void DaysAreTheScheduleTimeZonesDays()
    {
        // 22:30 and 23:30 UTC on March 1 are 23:30 on March 1 and 00:30 on March 2 in Berlin (UTC+1 in winter).
        RetentionCandidate[] backups = [Backup("2026-03-01T23:30:00Z"), Backup("2026-03-01T22:30:00Z")];
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        var policy = new RetentionPolicy(0, KeepDaily: 2, 0, 0);

        Kept(policy, backups, zone: berlin).Should().HaveCount(2, "they fall on two days in Berlin");
        Kept(policy, backups, zone: TimeZoneInfo.Utc).Should().Equal("2026-03-01T23:30:00Z");
    }

    /// <summary>The worked example of docs/backup.md: a year of nightly runs under KeepDaily=7, KeepWeekly=4, KeepMonthly=12.</summary>
    [Test]
    public void AYearOfNightlyRuns_Daily7Weekly4Monthly12_LeavesTwentyBackups()
    {
        var nightly = Enumerable.Range(0, 365).Reverse().Select(day => Backup($"{new DateTime(2025, 1, 1).AddDays(day):yyyy-MM-dd}T03:00:00Z")).ToList();

        var kept = Kept(new RetentionPolicy(0, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 12), nightly, now: At("2025-12-31T04:00:00Z"))
            .Select(id => id[..10]).ToList();

        kept.Should().Equal(
            // Monthly: the last night of each month. January's is the twelfth month counted back from December.
            "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30", "2025-05-31", "2025-06-30",
            "2025-07-31", "2025-08-31", "2025-09-30", "2025-10-31", "2025-11-30",
            // Weekly: the Sundays closing ISO weeks 50, 51 and 52; week 1 of 2026 (from Monday Dec 29) is Dec 31 itself.
            "2025-12-14", "2025-12-21",
            // Daily: the last seven nights (Dec 28 is also week 52's, Dec 31 also week 1's and December's).
            "2025-12-25", "2025-12-26", "2025-12-27", "2025-12-28", "2025-12-29", "2025-12-30", "2025-12-31");
    }

    [Test]
    public void AppliedAfterEveryNightlyRun_EndsWhereOneApplicationAtTheEndEnds()
    {
        // The store applies retention after each backup, so what a deleted backup would have been kept for later matters.
        var policy = new RetentionPolicy(KeepLast: 2, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 12);
        var all = Enumerable.Range(0, 400).Select(day => Backup($"{new DateTime(2025, 1, 1).AddDays(day):yyyy-MM-dd}T03:00:00Z")).ToList();
        var present = new List<RetentionCandidate>();
        foreach (var backup in all)
        {
            present.Insert(0, backup);
            var removed = policy.Apply(present, backup.CreatedAt, TimeZoneInfo.Utc, justStored: backup.Id).Remove.ToHashSet();
            present.RemoveAll(candidate => removed.Contains(candidate.Id));
        }

        present.Select(backup => backup.Id).Order(StringComparer.Ordinal)
            .Should().Equal(Kept(policy, all.AsEnumerable().Reverse(), now: all[^1].CreatedAt));
    }

    [Test]
    public void NewestGoodBackup_IsKept_EvenWhenNewerDamagedOnesFillTheRules()
    {
        RetentionCandidate[] backups =
        [
            Backup("2026-05-03T03:00:00Z", good: false),
            Backup("2026-05-02T03:00:00Z", good: false),
            Backup("2026-05-01T03:00:00Z"),
            Backup("2026-04-30T03:00:00Z"),
        ];

        var decision = new RetentionPolicy(KeepLast: 1, 0, 0, 0).Apply(backups, Now, TimeZoneInfo.Utc);

        decision.Keep.Keys.Should().BeEquivalentTo("2026-05-03T03:00:00Z", "2026-05-01T03:00:00Z");
        decision.Keep["2026-05-01T03:00:00Z"].Should().Equal("newest good backup");
        decision.Remove.Should().BeEquivalentTo("2026-05-02T03:00:00Z", "2026-04-30T03:00:00Z");
    }

    [Test]
    public void PreRestoreBackup_IsKeptForTwentyFourHours_ThenLikeAnyOther()
    {
        RetentionCandidate[] backups =
        [
            Backup("2026-06-01T11:00:00Z"),
            Backup("2026-06-01T10:00:00Z", "pre-restore"),
            Backup("2026-05-31T11:00:00Z", "pre-restore"),
        ];
        var policy = new RetentionPolicy(KeepLast: 1, 0, 0, 0);

        var decision = policy.Apply(backups, At("2026-06-01T12:00:00Z"), TimeZoneInfo.Utc);

        decision.Keep.Keys.Should().BeEquivalentTo("2026-06-01T11:00:00Z", "2026-06-01T10:00:00Z");
        decision.Keep["2026-06-01T10:00:00Z"].Should().Equal("pre-restore, younger than 24 hours");
        decision.Remove.Should().Equal("2026-05-31T11:00:00Z");

        policy.Apply(backups, At("2026-06-02T10:00:01Z"), TimeZoneInfo.Utc).Remove
            .Should().BeEquivalentTo("2026-06-01T10:00:00Z", "2026-05-31T11:00:00Z");
    }

    [Test]
    public void ABackupDatedInTheFuture_DoesNotCountAsTheNewest_TheStoresOrderDoes()
    {
        // The store's order: the two it wrote last first, then one of an earlier version whose clock was half a year ahead.
        RetentionCandidate[] newestFirst =
        [
            Backup("2026-06-01T11:00:00Z"),
            Backup("2026-06-01T10:00:00Z"),
            Backup("2026-12-01T03:00:00Z"),
        ];

        var decision = new RetentionPolicy(KeepLast: 2, 0, 0, 0).Apply(newestFirst, Now, TimeZoneInfo.Utc, justStored: "2026-06-01T11:00:00Z");

        decision.Keep.Keys.Should().BeEquivalentTo("2026-06-01T11:00:00Z", "2026-06-01T10:00:00Z");
        decision.Keep["2026-06-01T11:00:00Z"].Should().Contain("newest good backup");
        decision.Remove.Should().Equal("2026-12-01T03:00:00Z");
    }

    [Test]
    public void TheBackupJustMade_IsNeverRemoved_WhateverTheRulesSay()
    {
        // An offsite target that holds newer copies than the one just sent (the store's order puts it second), and a day
        // rule that keeps one backup: the copy just made stays all the same, and it is the only reason.
        RetentionCandidate[] newestFirst = [Backup("2026-06-01T11:00:00Z"), Backup("2026-06-01T10:00:00Z"), Backup("2026-05-31T10:00:00Z")];

        var decision = new RetentionPolicy(0, KeepDaily: 1, 0, 0).Apply(newestFirst, Now, TimeZoneInfo.Utc, justStored: "2026-06-01T10:00:00Z");

        decision.Keep.Keys.Should().BeEquivalentTo("2026-06-01T11:00:00Z", "2026-06-01T10:00:00Z");
        decision.Keep["2026-06-01T10:00:00Z"].Should().Equal(RetentionPolicy.JustStored);
        decision.Remove.Should().Equal("2026-05-31T10:00:00Z");
    }

    [Test]
    public void PreRestoreBackup_DatedInTheFuture_IsNotYoung()
    {
        RetentionCandidate[] newestFirst = [Backup("2026-06-01T11:00:00Z"), Backup("2027-06-01T10:00:00Z", "pre-restore")];

        new RetentionPolicy(KeepLast: 1, 0, 0, 0).Apply(newestFirst, Now, TimeZoneInfo.Utc).Remove
            .Should().Equal(["2027-06-01T10:00:00Z"], "its age says nothing: it would be kept until the clock is a day past it");
    }

    [Test]
    public void NoRule_KeepsEverything()
    {
        var backups = Enumerable.Range(1, 30).Select(day => Backup($"2026-04-{day:D2}T03:00:00Z")).ToList();

        new RetentionPolicy(0, 0, 0, 0).Apply(backups, Now, TimeZoneInfo.Utc).Remove.Should().BeEmpty();
    }
}
