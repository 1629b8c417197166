using CoreScope.Api.Options;
using CoreScope.Data.Diagnostics;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace CoreScope.Api.Diagnostics;

/// <summary>
/// <c>/metrics</c> in Prometheus text format: OpenTelemetry's Prometheus exporter over System.Diagnostics.Metrics.
/// Our instruments are plain runtime meters (the <c>CoreScope</c> meter in CoreScope.Data, which must not know ASP.NET
/// Core or any exporter), and so are the framework's own; OpenTelemetry reads both the same way, where
/// prometheus-net would publish its own metric types and reach runtime meters through an adapter. The exporter
/// package is a beta, but it is a thin layer over the stable SDK and can be swapped for OTLP without touching an
/// instrument. docs/architecture.md has the comparison.
/// </summary>
public static class MetricsExtensions
{
    // The framework's meters worth watching on a backup server: requests, connections, unhandled exceptions, and the
    // runtime (GC, CPU, memory). None of them labels anything with a header or a query, so the API key cannot reach a
    // label. The backup's permits are our own (corescope.backup.permits): the framework's rate limiter spent them too early.
    private static readonly string[] FrameworkMeters =
    [
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Diagnostics",
        "System.Runtime",
    ];

    public static IServiceCollection AddCoreScopeMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        if (!configuration.GetValue($"{MetricsOptions.SectionName}:{nameof(MetricsOptions.Enabled)}", defaultValue: true))
        {
            return services;
        }

        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(CoreScopeMeter.Name)
            .AddMeter(FrameworkMeters)

            // Every scrape reads the instruments afresh: a scrape is cheap (measured in docs/architecture.md), and a
            // cached answer would show a backup that just failed as not failed yet.
            .AddPrometheusExporter(exporter => exporter.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary>Maps the scrape endpoint when <see cref="MetricsOptions.Enabled"/>.</summary>
    public static WebApplication MapCoreScopeMetrics(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value;
        if (options.Enabled)
        {
            app.MapPrometheusScrapingEndpoint(options.Path);
        }

        return app;
    }
}
