using System.ComponentModel.DataAnnotations;

namespace CoreScope.Api.Options;

/// <summary>The Prometheus endpoint (section <c>CoreScope:Metrics</c>). Meanings: docs/operators.md.</summary>
public sealed class MetricsOptions
{
    public const string SectionName = "CoreScope:Metrics";

    /// <summary>Serve <see cref="Path"/> in Prometheus text format; false answers it 404 and collects nothing.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where the metrics are served.</summary>
    [Required]
    [RegularExpression("^/[A-Za-z0-9/_-]*$", ErrorMessage = "CoreScope:Metrics:Path must be a path such as /metrics.")]
    public string Path { get; set; } = "/metrics";
}
