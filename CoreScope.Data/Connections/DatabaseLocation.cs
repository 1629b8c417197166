using CoreScope.Data.Options;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Connections;

/// <summary>The database file's absolute path, resolved once against the content root.</summary>
public sealed class DatabaseLocation(IOptions<DatabaseOptions> options, IHostEnvironment environment)
{
    public string FilePath { get; } = Path.GetFullPath(options.Value.Path, environment.ContentRootPath);

    public string WalPath => FilePath + "-wal";
}
