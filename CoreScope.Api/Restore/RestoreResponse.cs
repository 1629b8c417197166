using CoreScope.Data.Restore;

namespace CoreScope.Api.Restore;

/// <summary>The answer to a restore: what was restored (or, for a dry run, would be) and the safety copy that undoes it.</summary>
public sealed record RestoreResponse(
    bool DryRun,
    string Source,
    string Sha256,
    long ReceivedBytes,
    bool Gzip,
    long DatabaseBytes,
    IReadOnlyDictionary<string, long> Rows,
    IReadOnlyList<string> SchemaStepsApplied,
    int? PageSizeRebuiltFrom,
    IReadOnlyList<string> TriggersDropped,
    string? PreRestoreBackupId,
    string? AppliedBy,
    string? Integrity,
    long DurationMs)
{
    public static RestoreResponse From(RestoreResult result) => new(
        result.DryRun, result.Source, result.Sha256, result.ReceivedBytes, result.Gzip, result.DatabaseBytes, result.Rows,
        result.SchemaStepsApplied, result.PageSizeRebuiltFrom, result.TriggersDropped, result.PreRestoreBackupId, result.AppliedBy, result.LiveQuickCheck,
        (long)result.Duration.TotalMilliseconds);
}
