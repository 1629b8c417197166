namespace CoreScope.Data.Backup;

/// <summary>Why a snapshot could not be made.</summary>
public enum BackupFailure
{
    /// <summary>The temp folder has, or had, too little free space for the snapshot.</summary>
    InsufficientStorage,

    /// <summary>The live database could not be read (damaged pages, not a database).</summary>
    DatabaseUnreadable,

    /// <summary>The finished snapshot failed its integrity check.</summary>
    VerificationFailed,

    /// <summary>Anything else SQLite or the file system reported.</summary>
    Failed,
}

/// <summary>A snapshot failed; nothing of it is left on disk when this is thrown.</summary>
public sealed class BackupFailedException(BackupFailure failure, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public BackupFailure Failure { get; } = failure;
}
