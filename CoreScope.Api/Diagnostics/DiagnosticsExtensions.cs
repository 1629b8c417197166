namespace CoreScope.Api.Diagnostics;

/// <summary>Registers and wires what <c>/api/stats</c>, <c>/api/health</c> and <c>/api/perf</c> report.</summary>
public static class DiagnosticsExtensions
{
    public static IServiceCollection AddDiagnostics(this IServiceCollection services)
    {
        services.AddSingleton<PerfCollector>();
        services.AddSingleton<ServerInfo>();
        services.AddSingleton<ServerStatusService>();
        services.AddSingleton<Data.Restore.IRestoreListener, PerfRestoreListener>();
        return services;
    }

    /// <summary>Times every request under its route template; first, so it sees the time errors take too.</summary>
    public static WebApplication UsePerfTimings(this WebApplication app)
    {
        app.UseMiddleware<PerfMiddleware>();
        return app;
    }
}
