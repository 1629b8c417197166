using System.Reflection;
using System.Text.RegularExpressions;
using CoreScope.Data;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// Runs the settings' validation and the data layer's start-up checks before the host starts. Inside the host a
/// refusal is logged as "Hosting failed to start" with a stack trace and then aborts the process (exit code 134);
/// run first, it can end the process with one line on standard error and exit code 78 (EX_CONFIG), which a service
/// manager can be told not to restart on (systemd: <c>RestartPreventExitStatus=78</c>).
/// </summary>
public static partial class StartupChecks
{
    public const int RefusedExitCode = 78;

    /// <summary>
    /// True when this program is the process's entry point. A test host that runs <c>Program</c> to build its server
    /// gets the exception itself instead of a process that would end under it.
    /// </summary>
    public static bool IsOwnProcess => Assembly.GetEntryAssembly() == typeof(StartupChecks).Assembly;

    /// <summary>Throws what would stop the host from starting: invalid settings, <see cref="StartupCheckFailedException"/>.</summary>
    public static async Task RunAsync(WebApplication app, CancellationToken cancellationToken)
    {
        app.Services.GetRequiredService<IStartupValidator>().Validate();
        await app.Services.GetRequiredService<DatabaseInitializer>().StartAsync(cancellationToken);
    }

    /// <summary>The one line to end with for a refusal an operator can fix, or null for anything else (a bug keeps its stack trace).</summary>
    public static string? Refusal(Exception exception) => Describe(exception);

    private static string? Describe(Exception exception) => exception switch
    {
        AggregateException aggregate when aggregate.InnerExceptions.All(inner => Describe(inner) is not null) =>
            string.Join(" ", aggregate.InnerExceptions.Select(Describe)),
        OptionsValidationException validation => string.Join(" ", validation.Failures.Select(failure => Reword(validation.OptionsType, failure))),
        StartupCheckFailedException refused => refused.Message,

        // A value of the wrong type: "Failed to convert configuration value at 'CoreScope:Backup:MaxConcurrent' to type ...".
        InvalidOperationException { InnerException: not null } conversion when conversion.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) =>
            conversion.Message + " " + conversion.InnerException!.Message,
        _ => null,
    };

    [GeneratedRegex("members: '(?<member>[^']*)' with the error: '(?<error>.*)'\\.$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();

    // "DataAnnotation validation failed for 'BackupOptions' members: 'MaxConcurrent' with the error: '...'." names a
    // class the operator never sees; say the setting instead.
    private static string Reword(Type optionsType, string failure)
    {
        var match = DataAnnotationFailure().Match(failure);
        if (!match.Success)
        {
            return failure;
        }

        var section = optionsType.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string;
        var setting = section is null ? match.Groups["member"].Value : $"{section}:{match.Groups["member"].Value}";
        var error = match.Groups["error"].Value;
        return error.Contains(setting, StringComparison.Ordinal) ? error : $"{setting}: {error}";
    }
}
