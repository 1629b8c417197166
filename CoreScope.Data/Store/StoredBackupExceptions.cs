namespace CoreScope.Data.Store;

/// <summary>No stored backup has this id (which is also the answer for anything that is not an id).</summary>
public sealed class StoredBackupNotFoundException(string id)
    : Exception($"No stored backup has the id \"{Shorten(id)}\". GET /api/backups lists the ones there are.")
{
    private static string Shorten(string id) => id.Length <= 64 ? id : id[..64] + "…";
}

/// <summary>The stored backup is listed but cannot be served as good: its file is missing or no longer what was written.</summary>
public sealed class StoredBackupDamagedException(string message) : Exception(message);
