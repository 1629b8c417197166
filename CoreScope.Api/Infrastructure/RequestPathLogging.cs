using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// Keeps the framework from logging raw request paths, whatever the logging settings say. A download link's token is a
/// path segment, and ASP.NET Core writes paths in three places: the hosting log's "Request starting GET
/// http://…/api/backup-links/&lt;token&gt;" at Information, the <c>RequestPath</c> scope it opens around every line of a
/// request (printed by any provider with scopes on: JSON console, OpenTelemetry, Seq), and, at Debug and Trace, routing's
/// candidate lists, Kestrel's bad-request lines and MVC's action arguments. An operator who turns logging up to chase a
/// problem must not thereby start writing live links to disk.
/// </summary>
/// <remarks>
/// The floors sit in the logger factory, in front of every provider, rather than in the filter rules: a rule the
/// settings add later or more specifically (a provider's own section, a wildcard such as
/// <c>Microsoft.AspNetCore.Hosting.Diagnostics*</c>) would win over a rule of ours, and rewriting the operator's rules
/// would change what they log elsewhere. Everything outside these categories follows the settings untouched.
/// </remarks>
public static class RequestPathLogging
{
    /// <summary>The hosting category: its request lines (Information) and its request scope carry the path.</summary>
    public const string HostingCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    private const string FrameworkCategory = "Microsoft.AspNetCore";

    /// <summary>Puts the floors in front of the logger factory the host would otherwise use.</summary>
    public static IServiceCollection AddRequestPathLogFloors(this IServiceCollection services)
    {
        services.Replace(ServiceDescriptor.Singleton<ILoggerFactory>(provider => new FlooredLoggerFactory(new LoggerFactory(
            provider.GetServices<ILoggerProvider>(),
            provider.GetRequiredService<IOptionsMonitor<LoggerFilterOptions>>(),
            provider.GetService<IOptions<LoggerFactoryOptions>>(),
            provider.GetService<IExternalScopeProvider>()))));
        return services;
    }

    /// <summary>The least level a category may log at, and whether its scopes reach the providers.</summary>
    private static (LogLevel Floor, bool Scopes)? FloorOf(string category)
    {
        // Warning and above of the hosting category are start-up failures, which name no request; its request scope is
        // dropped, not the logger: the request's Activity (the trace id in error bodies and log scopes) is made only
        // while this category is enabled.
        if (category.Equals(HostingCategory, StringComparison.OrdinalIgnoreCase))
        {
            return (LogLevel.Warning, false);
        }

        // At Information and above no other category of ASP.NET Core writes a path.
        return category.Equals(FrameworkCategory, StringComparison.OrdinalIgnoreCase)
            || category.StartsWith(FrameworkCategory + ".", StringComparison.OrdinalIgnoreCase)
            ? (LogLevel.Information, true)
            : null;
    }

    private sealed class FlooredLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName)
        {
            var logger = inner.CreateLogger(categoryName);
            return FloorOf(categoryName) is { } floor ? new FlooredLogger(logger, floor.Floor, floor.Scopes) : logger;
        }

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();
    }

    private sealed class FlooredLogger(ILogger inner, LogLevel floor, bool scopes) : ILogger
    {
        public bool IsEnabled(LogLevel logLevel) => logLevel >= floor && inner.IsEnabled(logLevel);

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => scopes ? inner.BeginScope(state) : null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= floor)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
