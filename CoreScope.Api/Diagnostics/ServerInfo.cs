using System.Diagnostics;
using System.Reflection;

namespace CoreScope.Api.Diagnostics;

/// <summary>What this build is and how long it has run, for <c>/api/stats</c> and <c>/api/health</c>.</summary>
public sealed class ServerInfo
{
    public const string Engine = "dotnet";

    private readonly long _startedAt = Stopwatch.GetTimestamp();

    public ServerInfo()
    {
        // The SDK writes "version+commit" into the informational version when it builds from a git checkout.
        var informational = typeof(ServerInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        Version = plus < 0 ? informational : informational[..plus];
        Commit = plus < 0 ? "unknown" : informational[(plus + 1)..];
    }

    public string Version { get; }

    public string Commit { get; }

    public TimeSpan Uptime => Stopwatch.GetElapsedTime(_startedAt);
}
