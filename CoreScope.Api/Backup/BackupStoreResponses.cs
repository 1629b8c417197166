using CoreScope.Data.Store;

namespace CoreScope.Api.Backup;

/// <summary>The body of <c>GET /api/backups</c>: the stored backups newest first, and the last failure to store one, if any.</summary>
public sealed record BackupListResponse(IReadOnlyList<BackupManifest> Backups, StoreFailure? LastFailure);
