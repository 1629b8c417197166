using System.Globalization;

namespace CoreScope.Data.Backup;

/// <summary>The free-space guard: a snapshot starts only when its folder's disk can hold it plus a margin.</summary>
internal static class DiskSpace
{
    public const long Megabyte = 1024 * 1024;

    /// <summary>
    /// Throws <see cref="BackupFailedException"/> (insufficient storage) when <paramref name="folder"/> lacks room for
    /// <paramref name="copies"/> copies of <paramref name="copyBytes"/> (2 when the snapshot is compressed beside
    /// itself), plus the margin.
    /// </summary>
    public static void EnsureFree(string folder, long copyBytes, int copies, bool copiesFreePages, long marginMegabytes, StorageLocation location)
    {
        var needed = copies * copyBytes + marginMegabytes * Megabyte;
        var free = FreeBytes(folder);
        if (free < needed)
        {
            var what = copiesFreePages ? "of pages, free pages included (method=pages copies the whole file)" : "of data";
            throw new BackupFailedException(
                BackupFailure.InsufficientStorage,
                $"Not enough free space in {location.Description}: the snapshot needs {ToMegabytes(needed)} MB " +
                $"({ToMegabytes(copyBytes)} MB {what}{(copies > 1 ? ", twice over to compress it ahead" : "")} plus a " +
                $"{marginMegabytes} MB margin) and {ToMegabytes(free)} MB is free. Free some space, point " +
                $"{location.Setting} at a larger disk" + (copiesFreePages ? ", or use method=vacuum, which writes only the data." : "."));
        }
    }

    /// <summary>True when the disk under <paramref name="folder"/> has (next to) nothing left; false when it cannot be asked.</summary>
    public static bool IsFull(string folder) => FreeBytesOrMax(folder) < Megabyte;

    public static long FreeBytes(string folder) => new DriveInfo(Path.GetFullPath(folder)).AvailableFreeSpace;

    /// <summary>The free space of the disk under <paramref name="folder"/>, or <see cref="long.MaxValue"/> when it cannot be read.</summary>
    public static long FreeBytesOrMax(string folder)
    {
        try
        {
            return FreeBytes(Path.GetDirectoryName(folder) ?? folder);
        }
        catch (IOException)
        {
            return long.MaxValue;
        }
    }

    private static string ToMegabytes(long bytes) => (bytes / (double)Megabyte).ToString("0.0", CultureInfo.InvariantCulture);
}

/// <summary>Where a snapshot is written, in an operator's words, and the setting that moves it.</summary>
public sealed record StorageLocation(string Description, string Setting)
{
    public static StorageLocation TempFolder { get; } = new("the backup temp folder", "CoreScope:Backup:TempDirectory");

    public static StorageLocation Store { get; } = new("the backup store", "CoreScope:Backup:Store:Directory");
}
