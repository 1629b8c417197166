using CoreScope.Data.Options;
using CoreScope.Data.Store;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite;

/// <summary>
/// The configured targets, none, one or both, built once from the settings; and the names of what this server puts on
/// them: <c>{prefix}corescope-backup-{id}.db[.gz]</c> (or what the payload names it) and its manifest
/// <c>{prefix}corescope-backup-{id}.json</c>.
/// </summary>
public sealed class OffsiteTargets : IDisposable
{
    private readonly List<IOffsiteTarget> _targets = [];

    public OffsiteTargets(IOptions<OffsiteS3Options> s3, IOptions<OffsiteAzureBlobOptions> azure, IOptions<OffsiteOptions> offsite)
    {
        if (s3.Value.IsEnabled)
        {
            _targets.Add(new S3Target(s3, offsite));
        }

        if (azure.Value.IsEnabled)
        {
            _targets.Add(new AzureBlobTarget(azure, offsite));
        }
    }

    public IReadOnlyList<IOffsiteTarget> All => _targets;

    /// <summary>The target named <paramref name="name"/> (<c>s3</c>, <c>azureblob</c>); an <see cref="OffsiteNotConfiguredException"/> when it is not configured.</summary>
    public IOffsiteTarget Get(string name) =>
        _targets.FirstOrDefault(target => string.Equals(target.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new OffsiteNotConfiguredException(_targets.Count == 0
            ? "No offsite target is configured (CoreScope:Offsite:S3 or CoreScope:Offsite:AzureBlob)."
            : $"The offsite target \"{Shorten(name)}\" is not configured; the configured ones are {string.Join(", ", _targets.Select(target => target.Name))}.");

    /// <summary>The manifest's key beside a backup on <paramref name="target"/>.</summary>
    public static string ManifestKey(IOffsiteTarget target, string backupId) => target.Prefix + StoreFiles.Manifest(backupId);

    /// <summary>Reads a key this server wrote: the backup id, and whether it is a manifest. Keys of anything else are never touched.</summary>
    public static bool TryParseKey(IOffsiteTarget target, string key, out string id, out bool isManifest)
    {
        id = "";
        isManifest = false;
        if (!key.StartsWith(target.Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var name = key[target.Prefix.Length..];
        if (name.Contains('/'))
        {
            return false;
        }

        if (StoreFiles.TryParse(name, out id, out isManifest))
        {
            return true;
        }

        // A transformed payload keeps the stored name and adds its own extension (corescope-backup-{id}.db.gz.gpg).
        var dot = name.LastIndexOf('.');
        return dot > 0 && StoreFiles.TryParse(name[..dot], out id, out isManifest) && !isManifest;
    }

    public void Dispose()
    {
        foreach (var target in _targets.OfType<IDisposable>())
        {
            target.Dispose();
        }
    }

    private static string Shorten(string name) => name.Length <= 32 ? name : name[..32] + "…";
}

/// <summary>A request named a target that is not configured, or there is none.</summary>
public sealed class OffsiteNotConfiguredException(string message) : Exception(message);

/// <summary>A backup is not on the target under the key a request named.</summary>
public sealed class OffsiteBackupNotFoundException(string message) : Exception(message);
