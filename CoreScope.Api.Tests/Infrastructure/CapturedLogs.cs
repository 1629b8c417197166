using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>
/// Keeps every log line the server writes, so tests can read what an operator would see, and the text of every scope
/// those lines were written in (what a provider with scopes on, such as the JSON console, prints beside each line).
/// </summary>
public sealed class CapturedLogs : ILoggerProvider, ISupportExternalScope
{
    private readonly ConcurrentQueue<(string Category, string Message)> _lines = new();
    private readonly ConcurrentDictionary<string, byte> _scopes = new(StringComparer.Ordinal);
    private IExternalScopeProvider? _scopeProvider;

    public IReadOnlyList<(string Category, string Message)> Lines => _lines.ToArray();

    /// <summary>Each distinct scope text that stood around a logged line.</summary>
    public IReadOnlyCollection<string> Scopes => _scopes.Keys.ToArray();

    /// <summary>
    /// Waits until <paramref name="count"/> lines contain <paramref name="text"/>: what the server does after a response,
    /// or on its own (a schedule's run), shows up here. Throws with every line logged so far when it does not.
    /// </summary>
    public async Task WaitForAsync(string text, int count = 1, int timeoutMs = 20_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (Lines.Count(line => line.Message.Contains(text, StringComparison.Ordinal)) < count)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No {count}x \"{text}\" in the log:\n" + string.Join("\n", Lines.Select(line => line.Message)));
            }

            await Task.Delay(20);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopeProvider = scopeProvider;

    public void Dispose()
    {
    }

    private sealed class Logger(string category, CapturedLogs logs) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            logs._lines.Enqueue((category, formatter(state, exception) + (exception is null ? "" : " " + exception)));
            logs._scopeProvider?.ForEachScope((scope, scopes) => scopes.TryAdd(scope?.ToString() ?? "", 0), logs._scopes);
        }
    }
}
