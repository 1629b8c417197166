using System.Globalization;
using CoreScope.Data.Diagnostics;

namespace CoreScope.Data.Store;

/// <summary>One stored backup as retention sees it.</summary>
public sealed record RetentionCandidate(string Id, DateTimeOffset CreatedAt, string Trigger, bool IsGood);

/// <summary>What retention decided: the backups it keeps, each with why, and the ones it removes.</summary>
public sealed record RetentionDecision(IReadOnlyDictionary<string, IReadOnlyList<string>> Keep, IReadOnlyList<string> Remove);

/// <summary>
/// restic's <c>forget</c> policy (<c>--keep-last/-daily/-weekly/-monthly</c>), which borg's <c>prune</c> shares: walk the
/// backups newest first; each rule keeps a backup when it is the first one seen in a new bucket (any backup for
/// "last", a calendar day, an ISO week, a month, in the schedule's time zone) until it has kept its count. A backup is
/// kept when any rule keeps it, so one backup can count as daily, weekly and monthly at once. On top of restic:
/// the backup just made, the newest good backup and a <c>pre-restore</c> backup younger than 24 hours are always kept.
/// A policy of all zeros keeps everything (restic refuses to run without one; a server must not delete on a missing
/// setting). "Newest" is the order the backups are given in, the store's (<see cref="StoreOrder"/>), never their
/// <c>createdAt</c>: a backup dated in the future by a clock that jumped would otherwise stay "last" and push out each
/// new one.
/// </summary>
public sealed record RetentionPolicy(int KeepLast, int KeepDaily, int KeepWeekly, int KeepMonthly)
{
    /// <summary>How long a <c>pre-restore</c> backup is kept whatever the rules say: the day an operator has to change their mind.</summary>
    public static readonly TimeSpan PreRestoreProtection = TimeSpan.FromHours(24);

    private static readonly string PreRestoreTrigger = MonitoringLabels.Of(BackupTrigger.PreRestore);

    public bool KeepsEverything => KeepLast == 0 && KeepDaily == 0 && KeepWeekly == 0 && KeepMonthly == 0;

    /// <summary>The keep reason of the backup whose storing ran this retention.</summary>
    public const string JustStored = "just stored";

    /// <summary>
    /// Decides over <paramref name="newestFirst"/>, in the store's order. <paramref name="justStored"/> is the backup
    /// whose storing (or copy) ran this pass: it is kept whatever the rules say, since removing it would answer a
    /// successful backup with nothing kept.
    /// </summary>
    public RetentionDecision Apply(IEnumerable<RetentionCandidate> newestFirst, DateTimeOffset now, TimeZoneInfo timeZone, string? justStored = null)
    {
        var backups = newestFirst.ToList();
        var newestGood = backups.FirstOrDefault(backup => backup.IsGood)?.Id;
        var index = 0;
        Rule[] rules =
        [
            new("last", KeepLast, _ => index),
            new("daily", KeepDaily, local => local.Year * 10_000 + local.Month * 100 + local.Day),
            new("weekly", KeepWeekly, local => ISOWeek.GetYear(local) * 100 + ISOWeek.GetWeekOfYear(local)),
            new("monthly", KeepMonthly, local => local.Year * 100 + local.Month),
        ];

        var keep = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        var remove = new List<string>();
        foreach (var backup in backups)
        {
            var local = TimeZoneInfo.ConvertTime(backup.CreatedAt, timeZone).DateTime;
            var reasons = new List<string>();
            foreach (var rule in rules)
            {
                if (rule.Remaining > 0)
                {
                    var bucket = rule.BucketOf(local);
                    if (bucket != rule.LastBucket)
                    {
                        rule.LastBucket = bucket;
                        rule.Remaining--;
                        reasons.Add(rule.Name);
                    }
                }
            }

            if (KeepsEverything)
            {
                reasons.Add("no retention configured");
            }

            if (backup.Id == justStored)
            {
                reasons.Add(JustStored);
            }

            if (backup.Id == newestGood)
            {
                reasons.Add("newest good backup");
            }

            // One dated in the future is not young: its age says nothing, and it would be kept for as long as the clock is behind it.
            if (backup.Trigger == PreRestoreTrigger && now - backup.CreatedAt < PreRestoreProtection && !StoreOrder.IsFutureDated(backup.CreatedAt.UtcDateTime, now))
            {
                reasons.Add("pre-restore, younger than 24 hours");
            }

            if (reasons.Count > 0)
            {
                keep[backup.Id] = reasons;
            }
            else
            {
                remove.Add(backup.Id);
            }

            index++;
        }

        return new RetentionDecision(keep, remove);
    }

    private sealed class Rule(string name, int count, Func<DateTime, long> bucketOf)
    {
        public string Name { get; } = name;

        public int Remaining { get; set; } = count;

        public long? LastBucket { get; set; }

        public long BucketOf(DateTime local) => bucketOf(local);
    }
}
