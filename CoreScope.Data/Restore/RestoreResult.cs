namespace CoreScope.Data.Restore;

/// <summary>What to restore besides the bytes themselves.</summary>
/// <param name="DryRun">Run every check, then stop: no safety copy, nothing live changes.</param>
/// <param name="ExpectedSha256">The SHA-256 the client says the bytes have; a mismatch refuses the restore.</param>
/// <param name="DeclaredLength">The size the client announced (Content-Length), for the disk guard before the first byte.</param>
/// <param name="AllowFileSwap">
/// Only for the offline command: when the live file cannot be opened as a database at all, put the checked copy in
/// its place instead of copying into it. The server never does this; a running server must not lose its file.
/// </param>
/// <param name="DropTriggers">Drop the triggers the live database does not have from the copy, instead of refusing it.</param>
public sealed record RestoreRequest(
    bool DryRun = false, byte[]? ExpectedSha256 = null, long? DeclaredLength = null, bool AllowFileSwap = false, bool DropTriggers = false);

/// <summary>What a restore did, for the answer and the audit.</summary>
public sealed record RestoreResult
{
    public required bool DryRun { get; init; }

    /// <summary><c>upload</c>, <c>file</c> or the stored backup's id.</summary>
    public required string Source { get; init; }

    /// <summary>The SHA-256 of the bytes received, hex.</summary>
    public required string Sha256 { get; init; }

    public required long ReceivedBytes { get; init; }

    public required bool Gzip { get; init; }

    /// <summary>The restored database's size, after it was checked and brought to the current schema.</summary>
    public required long DatabaseBytes { get; init; }

    /// <summary>Every table's rows in what was restored (or, for a dry run, would be).</summary>
    public required IReadOnlyDictionary<string, long> Rows { get; init; }

    public required IReadOnlyList<string> SchemaStepsApplied { get; init; }

    public int? PageSizeRebuiltFrom { get; init; }

    /// <summary>The triggers the live database does not have, dropped from what was restored (<see cref="RestoreRequest.DropTriggers"/>).</summary>
    public IReadOnlyList<string> TriggersDropped { get; init; } = [];

    /// <summary>The safety copy's id: restoring it undoes this restore. Null for a dry run or when there was no live file.</summary>
    public string? PreRestoreBackupId { get; init; }

    /// <summary>How the content went live: <c>backup-api</c> (into the live file) or <c>file-swap</c> (offline, damaged live file).</summary>
    public string? AppliedBy { get; init; }

    /// <summary><c>quick_check</c> of the live database after the commit; null for a dry run.</summary>
    public string? LiveQuickCheck { get; init; }

    public required TimeSpan Duration { get; init; }
}

/// <summary>Something that keeps state derived from the database and must start again after a restore replaced it.</summary>
public interface IRestoreListener
{
    void OnRestored(RestoreResult result);
}
