using CoreScope.Data;
using CoreScope.Data.Backup;
using CoreScope.Data.Options;

namespace CoreScope.Api.Backup;

/// <summary>Reads the query of a backup request into a <see cref="SnapshotRequest"/>; unknown values are a 400 that says why.</summary>
public static class BackupQuery
{
    public static SnapshotRequest Parse(string? compress, bool verify, string? method) =>
        new(verify, ParseCompression(compress), ParseMethod(method));

    // Only the names: Enum.TryParse also takes "1", "Pages,Vacuum" and " pages".
    private static SnapshotMethod? ParseMethod(string? method) =>
        string.IsNullOrEmpty(method) ? null
        : method.Equals("vacuum", StringComparison.OrdinalIgnoreCase) ? SnapshotMethod.Vacuum
        : method.Equals("pages", StringComparison.OrdinalIgnoreCase) ? SnapshotMethod.Pages
        : throw new InvalidInputException($"method must be \"vacuum\" or \"pages\"; \"{method}\" is not a snapshot method.");

    private static bool ParseCompression(string? compress) =>
        string.IsNullOrEmpty(compress) || compress.Equals("none", StringComparison.OrdinalIgnoreCase) ? false
        : compress.Equals("gzip", StringComparison.OrdinalIgnoreCase) ? true
        : throw new InvalidInputException($"compress must be \"gzip\" (or left out); \"{compress}\" is not a format this server writes.");
}
