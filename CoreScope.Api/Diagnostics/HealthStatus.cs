namespace CoreScope.Api.Diagnostics;

/// <summary>
/// The words of <c>/api/health</c>'s <c>status</c> and the HTTP status each answers with. Probes (Docker's
/// HEALTHCHECK, Kubernetes' liveness and readiness) look only at the HTTP status, and they must not restart or
/// unroute a server whose only problem is its backups: a restart fixes no backup, and taking the analyzer out of
/// service would add an outage to a backup problem. So "degraded" is 200 like "ok", and only "down" is 503.
/// Monitoring that must tell "ok" from "degraded" reads <c>status</c>, or <c>GET /api/health/backup</c>, which is
/// 503 while backups are stale, for checkers that see nothing but the HTTP status.
/// </summary>
public static class HealthStatus
{
    /// <summary>The database answers and backups are fresh (or no <c>MaxAgeHours</c> is set). 200.</summary>
    public const string Ok = "ok";

    /// <summary>The database answers, but the newest good backup is older than <c>CoreScope:Backup:MaxAgeHours</c>. 200.</summary>
    public const string Degraded = "degraded";

    /// <summary>The database cannot be read: the server cannot do its job. 503.</summary>
    public const string Down = "down";
}
