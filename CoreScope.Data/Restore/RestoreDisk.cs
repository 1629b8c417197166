using System.Globalization;
using CoreScope.Data.Backup;

namespace CoreScope.Data.Restore;

/// <summary>One thing a restore will write, where, and how much.</summary>
internal sealed record DiskNeed(string Folder, long Bytes, string What);

/// <summary>
/// The restore's free-space guard: the staging copy, the safety copy and the WAL the copy into the live database
/// writes may sit on one disk or on three, so the needs are added up per disk (the mount that holds each folder)
/// and each disk must hold its sum plus the margin.
/// </summary>
internal static class RestoreDisk
{
    public static void EnsureFree(IReadOnlyList<DiskNeed> needs, long marginMegabytes)
    {
        foreach (var disk in needs.GroupBy(need => MountOf(need.Folder), StringComparer.Ordinal))
        {
            var needed = disk.Sum(need => need.Bytes) + marginMegabytes * DiskSpace.Megabyte;
            var free = DiskSpace.FreeBytes(ExistingAncestor(disk.First().Folder));
            if (free < needed)
            {
                throw new RestoreFailedException(RestoreFailure.InsufficientStorage,
                    $"Not enough free space on {disk.Key} for the restore: it needs {Megabytes(needed)} MB (" +
                    string.Join(", ", disk.Select(need => $"{need.What} {Megabytes(need.Bytes)} MB")) +
                    $", plus a {marginMegabytes} MB margin) and {Megabytes(free)} MB is free. Nothing was changed. Free some space, " +
                    "or point CoreScope:Backup:TempDirectory or CoreScope:Backup:Store:Directory (where the safety copy goes) at a larger disk.");
            }
        }
    }

    // The longest mount point that holds the folder; DriveInfo on Linux names a path's own folder, not its disk.
    private static string MountOf(string folder)
    {
        var full = Path.GetFullPath(folder);
        try
        {
            return DriveInfo.GetDrives()
                .Select(drive => drive.RootDirectory.FullName)
                .Where(root => IsUnder(full, root))
                .OrderByDescending(root => root.Length)
                .FirstOrDefault() ?? full;
        }
        catch (IOException)
        {
            return full;
        }
        catch (UnauthorizedAccessException)
        {
            return full;
        }
    }

    private static bool IsUnder(string path, string root)
    {
        var comparison = OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        var prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path.Equals(root, comparison) || path.StartsWith(prefix, comparison);
    }

    private static string ExistingAncestor(string folder)
    {
        var current = new DirectoryInfo(Path.GetFullPath(folder));
        while (!current.Exists && current.Parent is not null)
        {
            current = current.Parent;
        }

        return current.FullName;
    }

    private static string Megabytes(long bytes) => (bytes / (double)DiskSpace.Megabyte).ToString("0.0", CultureInfo.InvariantCulture);
}
