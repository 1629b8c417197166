using System.Text.Json.Serialization;
using CoreScope.Data.Store;

namespace CoreScope.Data.Drills;

/// <summary>
/// The verdict of the last restore drill of a stored backup, written into its manifest as <c>drill</c>: the backup
/// was restored into a scratch file through the restore's checks and copy, then checked, so "passed" means it is
/// known to be restorable, not only hoped to be.
/// </summary>
public sealed record BackupDrill
{
    /// <summary><c>passed</c> or <c>failed</c> (<see cref="Diagnostics.MonitoringLabels.Of(Diagnostics.CheckOutcome)"/>).</summary>
    public required string Outcome { get; init; }

    /// <summary>When the drill started, UTC.</summary>
    [JsonConverter(typeof(UtcDateTimeConverter))]
    public required DateTime At { get; init; }

    /// <summary>How long it took, from taking the gate to the verdict.</summary>
    public required long DurationMs { get; init; }

    /// <summary>What was wrong, each in a sentence; empty when it passed.</summary>
    public required IReadOnlyList<string> Problems { get; init; }
}
