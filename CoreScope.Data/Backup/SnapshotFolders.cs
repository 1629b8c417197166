using Microsoft.Extensions.Logging;

namespace CoreScope.Data.Backup;

/// <summary>Names, creates and removes the staging folders snapshots and restores are made in.</summary>
internal static class SnapshotFolders
{
    /// <summary>Every snapshot's staging folder starts with this, so a start-up sweep can tell leftovers from other files.</summary>
    public const string Prefix = "corescope-snapshot-";

    /// <summary>The file in each staging folder that its owner holds open, locked, for as long as the folder is in use.</summary>
    public const string OwnerLockName = "owner.lock";

    /// <summary>
    /// A folder without an owner lock (made by a version before the lock, or being made this instant by another
    /// server) is left alone until it is this old.
    /// </summary>
    public static readonly TimeSpan UnownedFolderAge = TimeSpan.FromMinutes(1);

    /// <summary>A restore's staging folder (the upload and its checked copy) starts with this.</summary>
    public const string RestorePrefix = "corescope-restore-";

    /// <summary>A restore drill's staging folder (the staged backup and the scratch file it is restored into) starts with this.</summary>
    public const string DrillPrefix = "corescope-drill-";

    /// <summary>Makes a staging folder of this process's own, locked until the returned folder is disposed.</summary>
    public static StagingFolder Create(string tempDirectory, string prefix = Prefix)
    {
        Directory.CreateDirectory(tempDirectory);
        for (var attempt = 1; ; attempt++)
        {
            var folder = Path.Combine(tempDirectory, prefix + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(folder);
            try
            {
                return new StagingFolder(folder, OpenOwnerLock(folder));
            }
            catch (IOException) when (attempt < 3)
            {
                // Another server's start-up sweep locked the file between our creating and our locking it, and removes
                // the folder: take a new one.
            }
        }
    }

    // Opening with FileShare.None takes an exclusive lock (flock on Linux, a sharing lock on Windows) that the kernel
    // drops when the process ends, however it ends: a held lock is a live owner. DeleteOnClose removes it with the handle.
    private static FileStream OpenOwnerLock(string folder)
    {
        var stream = new FileStream(Path.Combine(folder, OwnerLockName), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose);
        stream.Write(System.Text.Encoding.UTF8.GetBytes($"CoreScope.Analyzer process {Environment.ProcessId}\n"));
        stream.Flush();
        return stream;
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
            ? new[] { Prefix, RestorePrefix, DrillPrefix }.SelectMany(prefix =>
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

    /// <summary>
    /// Removes the staging folders no live process owns: those whose owner lock can be taken (the owner ended, however it
    /// ended), and those without one that are older than <see cref="UnownedFolderAge"/>. Another server sharing the
    /// temp folder keeps its lock on every snapshot it is making or sending, so its folders are left alone. Returns
    /// how many were removed.
    /// </summary>
    public static int SweepStale(string tempDirectory, ILogger logger)
    {
        var removed = 0;
        var owned = 0;
        foreach (var folder in Find(tempDirectory))
        {
            if (!HasNoLiveOwner(folder))
            {
                owned++;
            }
            else if (TryDelete(folder))
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

        if (owned > 0)
        {
            logger.LogInformation("Left {Count} snapshot folders in {Folder} that a running server owns", owned, tempDirectory);
        }

        return removed;
    }

    private static bool HasNoLiveOwner(string folder)
    {
        var ownerLock = Path.Combine(folder, OwnerLockName);
        if (!File.Exists(ownerLock))
        {
            return DateTime.UtcNow - Directory.GetLastWriteTimeUtc(folder) > UnownedFolderAge;
        }

        try
        {
            // Taken: its owner is gone. Released again before the folder is deleted, which Windows needs.
            using var probe = new FileStream(ownerLock, FileMode.Open, FileAccess.Read, FileShare.None);
            return true;
        }
        catch (FileNotFoundException)
        {
            // Its owner deleted it just now, with the folder.
            return false;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary>A staging folder and the lock that marks it as in use; disposing releases the lock and deletes the folder.</summary>
internal sealed class StagingFolder(string path, FileStream ownerLock) : IDisposable
{
    private int _disposed;

    public string Path { get; } = path;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            ownerLock.Dispose();
            SnapshotFolders.TryDelete(Path);
        }
    }
}
