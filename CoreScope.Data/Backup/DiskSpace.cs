using System.Globalization;

namespace CoreScope.Data.Backup;

/// <summary>The free-space guard: a snapshot starts only when its folder's disk can hold it plus a margin.</summary>
internal static class DiskSpace
{
    public const long Megabyte = 1024 * 1024;

    /// <summary>Throws <see cref="BackupFailedException"/> (insufficient storage) when <paramref name="folder"/> lacks room.</summary>
    public static void EnsureFree(string folder, long snapshotBytes, long usedBytes, long marginMegabytes, StorageLocation location)
    {
        var needed = snapshotBytes + marginMegabytes * Megabyte;
        var free = FreeBytes(folder);
        if (free < needed)
        {
            throw new BackupFailedException(
                BackupFailure.InsufficientStorage,
                $"Not enough free space in {location.Description}: the snapshot needs {ToMegabytes(needed)} MB " +
                $"({ToMegabytes(usedBytes)} MB of data{(snapshotBytes > usedBytes ? ", twice over to compress it ahead" : "")} plus a " +
                $"{marginMegabytes} MB margin) and {ToMegabytes(free)} MB is free. Free some space or point " +
                $"{location.Setting} at a larger disk.");
        }
    }

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
