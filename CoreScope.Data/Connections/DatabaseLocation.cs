using CoreScope.Data.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Connections;

/// <summary>The database file's absolute path, resolved once against the content root.</summary>
public sealed class DatabaseLocation(IOptions<DatabaseOptions> options, IHostEnvironment environment)
{
    public string FilePath { get; } = Path.GetFullPath(options.Value.Path, environment.ContentRootPath);

    public string WalPath => FilePath + "-wal";

    /// <summary>
    /// A file beside the database that says it existed, so a database deleted later is missed at start instead of
    /// replaced by an empty one. Hidden (a leading dot), so <c>rm data/*</c> or <c>rm corescope.db*</c> leaves it.
    /// </summary>
    public string MarkerPath => Path.Combine(Path.GetDirectoryName(FilePath)!, "." + Path.GetFileName(FilePath) + ".marker");

    /// <summary>The name of the folder beside the database that holds the keys download links are protected with.</summary>
    public const string DataProtectionKeysFolderName = "data-protection-keys";

    /// <summary>That folder: beside the database, so a copy of the data folder carries the keys with it.</summary>
    public string DataProtectionKeysFolder => Path.Combine(Path.GetDirectoryName(FilePath)!, DataProtectionKeysFolderName);
}
