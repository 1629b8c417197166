using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>
/// Where the CoreScope SQLite database lives and how the server talks to it (section <c>CoreScope:Database</c>).
/// </summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "CoreScope:Database";

    /// <summary>
    /// The database file. A relative path is taken from the content root; folder, file and schema are
    /// created on first start.
    /// </summary>
    [Required(AllowEmptyStrings = false)]
    public string Path { get; set; } = "data/corescope.db";

    /// <summary>How long a connection waits on another writer's lock before it gives up, in milliseconds.</summary>
    [Range(0, 600_000)]
    public int BusyTimeoutMs { get; set; } = 10_000;
}
