using System.Globalization;
using System.Security.Cryptography;
using CoreScope.Api.Options;
using CoreScope.Data;
using CoreScope.Data.Store;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Backup;

/// <summary>A download link for a stored backup, valid until <see cref="ExpiresAt"/>.</summary>
public sealed record BackupLink(string Url, DateTimeOffset ExpiresAt);

/// <summary>A download link was altered, made with other keys, or has expired; the message says which.</summary>
public sealed class BackupLinkRefusedException(string message) : Exception(message);

/// <summary>
/// Time-limited download links for stored backups, so a browser can save a large file straight to disk with its own
/// progress without ever holding the API key in a URL. The link carries the backup's id protected by ASP.NET Core
/// Data Protection's time-limited protector (authenticated encryption with the expiry inside), under keys kept beside
/// the database, so links survive a restart and cannot be forged or stretched. The expiry is also in the query in
/// clear, only so that a refusal can say "expired" rather than "not valid"; changing it changes nothing else.
/// </summary>
public sealed class BackupLinks(IDataProtectionProvider provider, BackupStore store, IOptions<BackupLinkOptions> options, TimeProvider timeProvider)
{
    /// <summary>The route links are served under; the audit line never logs the token that follows it.</summary>
    public const string RoutePrefix = "api/backup-links";

    /// <summary>The last second a <see cref="DateTimeOffset"/> holds, 9999-12-31 23:59:59 UTC.</summary>
    public const long MaxExpiresUnixSeconds = 253_402_300_799;

    private const string Purpose = "CoreScope.Api.Backup.BackupLinks.v1";

    private readonly ITimeLimitedDataProtector _protector = provider.CreateProtector(Purpose).ToTimeLimitedDataProtector();

    /// <summary>A link to a known stored backup; <see cref="StoredBackupNotFoundException"/> for an unknown id.</summary>
    public BackupLink Create(string id)
    {
        var manifest = store.Get(id);

        // The protector checks expiry against the system clock; TimeProvider.System is that clock in production.
        var expiresAt = timeProvider.GetUtcNow().AddSeconds(options.Value.LifetimeSeconds);
        var token = _protector.Protect(manifest.Id, expiresAt);
        return new BackupLink($"/{RoutePrefix}/{token}?expires={expiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}", expiresAt);
    }

    /// <summary>The file a link points to, checked like any download; <see cref="BackupLinkRefusedException"/> for a bad link.</summary>
    public Task<StoredBackupFile> OpenAsync(string token, long? expires, CancellationToken cancellationToken)
    {
        // Only a time this server could have written is worded as an expiry: a link carries 1970 onwards, and nothing
        // beyond the last second a date can hold (which would otherwise be an ArgumentOutOfRangeException, a 500).
        if (expires is <= 0 or > MaxExpiresUnixSeconds)
        {
            throw new InvalidInputException(
                $"expires must be the link's expiry in Unix seconds, from 1 to {MaxExpiresUnixSeconds}; {expires} is not one any link carries. " +
                "Use the link as it was given, or ask for a new one (POST /api/backups/{id}/link).");
        }

        string id;
        try
        {
            id = _protector.Unprotect(token);
        }
        catch (CryptographicException)
        {
            if (expires is { } unix && unix <= timeProvider.GetUtcNow().ToUnixTimeSeconds())
            {
                throw new BackupLinkRefusedException(
                    $"This download link expired at {DateTimeOffset.FromUnixTimeSeconds(unix):yyyy-MM-dd HH:mm:ss} UTC. Ask for a new one " +
                    "(the admin page's Download button, or POST /api/backups/{id}/link).");
            }

            throw new BackupLinkRefusedException(
                "This download link is not valid: it was altered, or made with keys this server does not have. Ask for a new one " +
                "(the admin page's Download button, or POST /api/backups/{id}/link).");
        }

        return store.OpenForDownloadAsync(id, cancellationToken);
    }
}
