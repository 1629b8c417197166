using Microsoft.Extensions.Logging;

namespace CoreScope.Data.Backup;

/// <summary>Names, creates and removes the staging folders snapshots are made in.</summary>
internal static class SnapshotFolders
{
    /// <summary>Every staging folder starts with this, so a start-up sweep can tell leftovers from other files.</summary>
    public const string Prefix = "corescope-snapshot-";

    public static string Create(string tempDirectory)
    {
        Directory.CreateDirectory(tempDirectory);
        var folder = Path.Combine(tempDirectory, Prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>
    /// Makes sure snapshots can be staged in <paramref name="tempDirectory"/>: it is a folder (created if missing) that
    /// takes a file. Found at start, a file in its place or a folder without write access is a refusal to start, not a
    /// 500 at the first backup.
    /// </summary>
    public static void EnsureUsable(string tempDirectory)
    {
        if (File.Exists(tempDirectory))
        {
            throw new StartupCheckFailedException(
                $"CoreScope:Backup:TempDirectory ({tempDirectory}) is a file, not a folder, so no snapshot could be staged there. " +
                "Point it at a folder, or leave it empty for the system temp folder, and restart.");
        }

        try
        {
            Directory.CreateDirectory(tempDirectory);
            var probe = Path.Combine(tempDirectory, ".corescope-write-check-" + Guid.NewGuid().ToString("N"));
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            throw new StartupCheckFailedException(
                $"CoreScope:Backup:TempDirectory ({tempDirectory}) cannot hold snapshots: {exception.Message} " +
                "Point it at a folder the server may write to, and restart.");
        }
    }

    public static IEnumerable<string> Find(string tempDirectory) =>
        Directory.Exists(tempDirectory)
            ? Directory.EnumerateDirectories(tempDirectory, Prefix + "*", SearchOption.TopDirectoryOnly)
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
