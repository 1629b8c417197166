namespace CoreScope.Api.Restore;

/// <summary>Wires what <c>POST /api/admin/restore</c> needs besides its controller.</summary>
public static class RestoreExtensions
{
    /// <summary>The route of the restore, which the audit branch matches.</summary>
    public const string RoutePath = "/api/admin/restore";

    /// <summary>One audit line per restore request, including the ones refused before the action runs.</summary>
    public static WebApplication UseRestoreAudit(this WebApplication app)
    {
        app.UseWhen(
            context => context.Request.Path.StartsWithSegments(RoutePath, StringComparison.OrdinalIgnoreCase),
            branch => branch.UseMiddleware<RestoreAuditMiddleware>());
        return app;
    }
}
