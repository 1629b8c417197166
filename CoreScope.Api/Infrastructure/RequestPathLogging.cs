using Microsoft.Extensions.Options;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// Keeps the framework from logging raw request paths, whatever the logging settings say. A download link's token is a
/// path segment, and ASP.NET Core writes paths in three places: the hosting log's "Request starting GET
/// http://…/api/backup-links/&lt;token&gt;" at Information, the <c>RequestPath</c> scope it opens around every line of a
/// request (printed by any provider with scopes on: JSON console, OpenTelemetry, Seq), and, at Debug and Trace, routing's
/// candidate lists and MVC's action arguments. An operator who turns logging up to chase a problem must not thereby
/// start writing live links to disk.
/// </summary>
public static class RequestPathLogging
{
    // The hosting category is switched off entirely: the RequestPath scope is opened whenever it is enabled at all (it
    // checks Critical), and its own lines (request starting/finished) are what the perf and audit records already say.
    // The rest of ASP.NET Core keeps Information and above, where no category of it writes a path. Broader categories
    // come first: a narrower floor's rules are added after a broader one's, so the narrower one wins.
    private static readonly (string Category, LogLevel Floor)[] Floors =
    [
        ("Microsoft.AspNetCore", LogLevel.Information),
        ("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None),
    ];

    /// <summary>Raises the levels below the floors after every reload of the logging settings.</summary>
    public static IServiceCollection AddRequestPathLogFloors(this IServiceCollection services)
    {
        services.AddSingleton<IPostConfigureOptions<LoggerFilterOptions>, FloorRules>();
        return services;
    }

    /// <summary>
    /// Adds, for each provider the rules name (and for all providers), a rule at the floor's category with the level the
    /// settings would give it raised to the floor, and raises every more specific rule under it. Rules added last win a
    /// tie of specificity, and post-configuration runs after the settings are bound, on each reload too.
    /// </summary>
    private sealed class FloorRules : IPostConfigureOptions<LoggerFilterOptions>
    {
        public void PostConfigure(string? name, LoggerFilterOptions options)
        {
            foreach (var (category, floor) in Floors)
            {
                var existing = options.Rules.ToList();
                foreach (var provider in existing.Select(rule => rule.ProviderName).Append(null).Distinct())
                {
                    var level = EffectiveLevel(existing, provider, category, options.MinLevel);
                    options.Rules.Add(new LoggerFilterRule(provider, category, Max(level, floor), filter: null));
                }

                foreach (var narrower in existing.Where(rule => IsUnder(rule.CategoryName, category) && (rule.LogLevel ?? LogLevel.Trace) < floor))
                {
                    options.Rules.Add(new LoggerFilterRule(narrower.ProviderName, narrower.CategoryName, floor, narrower.Filter));
                }
            }
        }

        private static LogLevel Max(LogLevel level, LogLevel floor) => level > floor ? level : floor;

        private static bool IsUnder(string? ruleCategory, string category) =>
            ruleCategory is not null && ruleCategory.Length > category.Length
            && ruleCategory.StartsWith(category + ".", StringComparison.OrdinalIgnoreCase);

        // The logging library's own choice, for one category: the provider's rules if it has any, else the general ones;
        // of those the longest matching category (a "*" stands for any text), the last one of equal length.
        private static LogLevel EffectiveLevel(List<LoggerFilterRule> rules, string? provider, string category, LogLevel minLevel)
        {
            var candidates = rules.Where(rule => rule.ProviderName == provider).ToList();
            if (provider is null || candidates.Count == 0)
            {
                candidates = rules.Where(rule => rule.ProviderName is null).ToList();
            }

            LoggerFilterRule? chosen = null;
            foreach (var rule in candidates.Where(rule => Matches(rule.CategoryName, category)))
            {
                if (chosen is null || (rule.CategoryName?.Length ?? 0) >= (chosen.CategoryName?.Length ?? 0))
                {
                    chosen = rule;
                }
            }

            return chosen?.LogLevel ?? minLevel;
        }

        private static bool Matches(string? ruleCategory, string category)
        {
            if (ruleCategory is null)
            {
                return true;
            }

            var star = ruleCategory.IndexOf('*', StringComparison.Ordinal);
            return star < 0
                ? category.StartsWith(ruleCategory, StringComparison.OrdinalIgnoreCase)
                : category.StartsWith(ruleCategory[..star], StringComparison.OrdinalIgnoreCase)
                    && category.EndsWith(ruleCategory[(star + 1)..], StringComparison.OrdinalIgnoreCase);
        }
    }
}
