using CoreScope.Data.Offsite;

namespace CoreScope.Api.Offsite;

/// <summary>The body of <c>GET /api/offsite/backups</c>: each configured target with the backups it holds, newest first, or why it could not be read.</summary>
public sealed record OffsiteListResponse(IReadOnlyList<OffsiteListing> Targets);
