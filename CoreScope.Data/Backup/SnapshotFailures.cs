using System.Data.SQLite;

namespace CoreScope.Data.Backup;

/// <summary>Tells why a snapshot failed, from what SQLite or the file system threw, in words an operator can act on.</summary>
internal static class SnapshotFailures
{
    public static BackupFailedException Classify(Exception exception, string folder) =>
        Classify(exception, folder, StorageLocation.TempFolder);

    public static BackupFailedException Classify(Exception exception, string folder, StorageLocation location)
    {
        if (exception is SQLiteException sqlite)
        {
            // SQLite reports a full disk as SQLITE_FULL from a short write, but as a plain I/O error from other steps
            // (growing or truncating the file): an I/O error on a disk with no room left is the same 507.
            var primary = (SQLiteErrorCode)((int)sqlite.ResultCode & 0xFF);
            switch (primary)
            {
                case SQLiteErrorCode.Full:
                case SQLiteErrorCode.IoErr when DiskSpace.IsFull(folder):
                    return new BackupFailedException(
                        BackupFailure.InsufficientStorage,
                        $"The disk of {location.Description} filled up while the snapshot was written; the partial file was removed. " +
                        $"Free some space or point {location.Setting} at a larger disk.",
                        exception);
                case SQLiteErrorCode.Corrupt or SQLiteErrorCode.NotADb:
                    return new BackupFailedException(
                        BackupFailure.DatabaseUnreadable,
                        "The live database could not be read: SQLite reports it damaged (" + sqlite.ResultCode + "). " +
                        "No backup was made. Run PRAGMA integrity_check on it and restore from an earlier backup.",
                        exception);
            }
        }

        if (exception is IOException && DiskSpace.IsFull(folder))
        {
            return new BackupFailedException(
                BackupFailure.InsufficientStorage,
                $"The disk of {location.Description} is full; the partial file was removed. " +
                $"Free some space or point {location.Setting} at a larger disk.",
                exception);
        }

        // The exception's own message may name server paths (the staging folder, the file): it stays in the log, which
        // gets the whole exception, and the client is told what kind of failure it was.
        var kind = exception is SQLiteException failed ? "SQLite " + failed.ResultCode : exception.GetType().Name;
        return new BackupFailedException(
            BackupFailure.Failed,
            $"The snapshot failed ({kind}); nothing of it is left on disk. The server's log has the details.",
            exception);
    }
}
