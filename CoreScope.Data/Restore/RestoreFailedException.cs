namespace CoreScope.Data.Restore;

/// <summary>Why a restore was refused or failed; the web layer maps each to its status code.</summary>
public enum RestoreFailure
{
    /// <summary>The request carried nothing to restore (an empty body and no <c>from</c>).</summary>
    Empty,

    /// <summary>A request header or value is malformed (a digest that is not SHA-256 in base64 or hex).</summary>
    BadRequest,

    /// <summary>The upload is larger than <c>MaxUploadMB</c>, or unpacks to more than <c>MaxDatabaseMB</c>.</summary>
    TooLarge,

    /// <summary>The SHA-256 of the upload differs from the one the client sent.</summary>
    DigestMismatch,

    /// <summary>The file is not something this server can restore: bad gzip, not SQLite, truncated, damaged, not CoreScope.</summary>
    Unusable,

    /// <summary>The database was written by a newer version of this server (schema steps it does not know).</summary>
    NewerSchema,

    /// <summary>No stored backup has the requested id.</summary>
    UnknownBackup,

    /// <summary>Another backup or restore holds the one-at-a-time gate.</summary>
    Busy,

    /// <summary>A disk involved (staging, safety copy, the database's WAL) has too little free space.</summary>
    InsufficientStorage,

    /// <summary>An offsite copy is no longer what was copied: its size or SHA-256 differs from its manifest's entry.</summary>
    RemoteCopyChanged,

    /// <summary>Anything else; the live database was not changed unless the message says otherwise.</summary>
    Failed,
}

/// <summary>A restore was refused or failed; the message says what and what to do.</summary>
public sealed class RestoreFailedException(RestoreFailure failure, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public RestoreFailure Failure { get; } = failure;

    /// <summary>For <see cref="RestoreFailure.Busy"/>: when the gate is likely free again.</summary>
    public TimeSpan? RetryAfter { get; init; }
}
