using System.Text.Json.Serialization;

namespace CoreScope.Api.Maintenance;

/// <summary>The prune result under the original's snake_case names, which its clients read.</summary>
public sealed record PruneResponse(
    [property: JsonPropertyName("packets_deleted")] long PacketsDeleted,
    [property: JsonPropertyName("deleted")] long Deleted,
    [property: JsonPropertyName("observations_deleted")] long ObservationsDeleted,
    [property: JsonPropertyName("observers_inactive")] long ObserversInactive,
    [property: JsonPropertyName("days")] int Days);
