using System.ComponentModel.DataAnnotations;

namespace CoreScope.Api.Options;

/// <summary>Download links for stored backups (section <c>CoreScope:Backup:Links</c>). Meanings: docs/backup.md.</summary>
public sealed class BackupLinkOptions
{
    public const string SectionName = "CoreScope:Backup:Links";

    /// <summary>How long a link made by <c>POST /api/backups/{id}/link</c> downloads its backup.</summary>
    [Range(1, 86_400, ErrorMessage = "CoreScope:Backup:Links:LifetimeSeconds must be a whole number from 1 to 86400.")]
    public int LifetimeSeconds { get; set; } = 300;
}
