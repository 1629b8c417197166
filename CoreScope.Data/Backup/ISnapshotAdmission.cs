namespace CoreScope.Data.Backup;

/// <summary>
/// The caller's last word on a snapshot: asked once the slot is held and the disk has room, right before the copy
/// starts. It is the last moment a snapshot can be refused and the first at which it counts as started, so a limit
/// on started backups (the API's per-client permits) spends nothing on requests that a busy slot or a small disk
/// refused.
/// </summary>
public interface ISnapshotAdmission
{
    /// <summary>Throws to refuse the snapshot; the exception reaches the caller as it is, and nothing is left on disk.</summary>
    void Admit();
}
