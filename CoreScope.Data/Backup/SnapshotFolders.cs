using Microsoft.Extensions.Logging;

namespace CoreScope.Data.Backup;

/// <summary>Names, creates and removes the staging folders snapshots and restores are made in.</summary>
internal static class SnapshotFolders
{
    /// <summary>Every snapshot's staging folder starts with this, so a start-up sweep can tell leftovers from other files.</summary>
    public const string Prefix = "corescope-snapshot-";

    /// <summary>A restore's staging folder (the upload and its checked copy) starts with this.</summary>
    public const string RestorePrefix = "corescope-restore-";

    public static string Create(string tempDirectory, string prefix = Prefix)
    {
        Directory.CreateDirectory(tempDirectory);
        var folder = Path.Combine(tempDirectory, prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    public static IEnumerable<string> Find(string tempDirectory) =>
        Directory.Exists(tempDirectory)
            ? new[] { Prefix, RestorePrefix }.SelectMany(prefix =>
                Directory.EnumerateDirectories(tempDirectory, prefix + "*", SearchOption.TopDirectoryOnly))
            : [];

    public static bool TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Removes staging folders a crashed or killed process left behind; returns how many.</summary>
    public static int SweepStale(string tempDirectory, ILogger logger)
    {
        var removed = 0;
        foreach (var folder in Find(tempDirectory))
        {
            if (TryDelete(folder))
            {
                removed++;
            }
            else
            {
                logger.LogWarning("Could not remove the stale snapshot folder {Folder}", folder);
            }
        }

        if (removed > 0)
        {
            logger.LogWarning("Removed {Count} snapshot folders left by an earlier run from {Folder}", removed, tempDirectory);
        }

        return removed;
    }
}
