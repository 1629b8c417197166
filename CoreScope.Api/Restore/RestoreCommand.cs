using System.Globalization;
using CoreScope.Data;
using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Offsite;
using CoreScope.Data.Offsite.Encryption;
using CoreScope.Data.Restore;
using CoreScope.Data.Store;
using Microsoft.Extensions.Options;

namespace CoreScope.Api.Restore;

/// <summary>
/// <c>dotnet CoreScope.Api.dll restore &lt;file&gt; [--database &lt;path&gt;] [--dry-run] [--drop-triggers]</c>: the restore for a stopped
/// server, or a live file too damaged to open; with <c>--from-offsite {target}:{key}</c> instead of a file, the copy on
/// an offsite target (the settings, appsettings.json and environment variables say where, as for the server), decrypted
/// with <c>--private-key-file</c> and <c>--passphrase-file</c> when it is encrypted. It builds a host with the same <c>AddCoreScopeData()</c> and calls the
/// same <see cref="RestoreService"/> as <c>POST /api/admin/restore</c> (same checks, same safety copy); the host is not
/// started, so nothing migrates or sweeps the live file first. Exit code and one line say how it went.
/// </summary>
public static class RestoreCommand
{
    public const int Restored = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Refused = 3;
    public const int Busy = 4;
    public const int NoSpace = 5;

    private const string UsageText =
        "usage: dotnet CoreScope.Api.dll restore <file.db|file.db.gz> | --from-offsite <target>:<key> [--private-key-file <path> [--passphrase-file <path>]] [--database <path>] [--dry-run] [--drop-triggers]";

    public static async Task<int> RunAsync(string[] args)
    {
        string? file = null;
        string? database = null;
        string? offsite = null;
        string? privateKeyFile = null;
        string? passphraseFile = null;
        var dryRun = false;
        var dropTriggers = false;
        for (var index = 0; index < args.Length; index++)
        {
            switch (args[index])
            {
                case "--database" when index + 1 < args.Length:
                    database = args[++index];
                    break;
                case "--from-offsite" when index + 1 < args.Length && offsite is null:
                    offsite = args[++index];
                    break;
                case "--private-key-file" when index + 1 < args.Length:
                    privateKeyFile = args[++index];
                    break;
                case "--passphrase-file" when index + 1 < args.Length:
                    passphraseFile = args[++index];
                    break;
                case "--dry-run":
                    dryRun = true;
                    break;
                case "--drop-triggers":
                    dropTriggers = true;
                    break;
                case "-h" or "--help":
                    await Console.Out.WriteLineAsync(UsageText);
                    return Restored;
                case var value when !value.StartsWith('-') && file is null:
                    file = value;
                    break;
                default:
                    await Console.Error.WriteLineAsync($"restore: unexpected argument \"{args[index]}\"; {UsageText}");
                    return Usage;
            }
        }

        if ((file is null) == (offsite is null))
        {
            await Console.Error.WriteLineAsync("restore: name the backup file to restore, or --from-offsite, one of them; " + UsageText);
            return Usage;
        }

        if (offsite is null && (privateKeyFile ?? passphraseFile) is not null)
        {
            await Console.Error.WriteLineAsync("restore: --private-key-file and --passphrase-file go with --from-offsite; " + UsageText);
            return Usage;
        }

        if (passphraseFile is not null && privateKeyFile is null)
        {
            await Console.Error.WriteLineAsync("restore: --passphrase-file needs --private-key-file; " + UsageText);
            return Usage;
        }

        foreach (var keyFile in new[] { privateKeyFile, passphraseFile }.OfType<string>().Where(path => !File.Exists(path)))
        {
            await Console.Error.WriteLineAsync($"restore: {keyFile} does not exist");
            return Usage;
        }

        if (file is not null && !File.Exists(file))
        {
            await Console.Error.WriteLineAsync($"restore: {file} does not exist");
            return Usage;
        }

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = Directory.GetCurrentDirectory() });
        if (database is not null)
        {
            builder.Configuration["CoreScope:Database:Path"] = Path.GetFullPath(database);
        }

        // Only warnings and errors, on stderr: stdout carries the one line that says what happened. Set in the
        // configuration, since appsettings.json's levels would otherwise win over a minimum set in code.
        builder.Configuration["Logging:LogLevel:Default"] = "Warning";
        builder.Configuration["Logging:LogLevel:CoreScope"] = "Warning";
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(options => options.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.AddCoreScopeData();
        using var host = builder.Build();

        try
        {
            // The safety copy goes into the backup store: its catalogue is read (never swept: a server may be writing a
            // backup beside this command) so that retention after the copy sees the backups already there.
            host.Services.GetRequiredService<BackupStore>().LoadCatalogue();
            var request = new RestoreRequest(dryRun, AllowFileSwap: true, DropTriggers: dropTriggers);
            var result = offsite is not null
                ? await RestoreOffsiteAsync(host.Services, offsite, await ReadKeyAsync(privateKeyFile, passphraseFile), request)
                : await RestoreFileAsync(host.Services, file!, request);
            await Console.Out.WriteLineAsync(Describe(result));
            return Restored;
        }
        catch (Exception exception) when (exception is OffsiteNotConfiguredException or OffsiteBackupNotFoundException or OffsiteTargetException)
        {
            await Console.Error.WriteLineAsync("restore failed: " + exception.Message);
            return exception switch
            {
                OffsiteTargetException => Failed,
                OffsiteBackupNotFoundException => Refused,
                _ => Usage,
            };
        }
        catch (RestoreFailedException exception)
        {
            // The message names key ids at most, never the key or the passphrase (OffsitePayloads).
            await Console.Error.WriteLineAsync("restore failed: " + exception.Message);
            return exception.Failure switch
            {
                RestoreFailure.Busy => Busy,
                RestoreFailure.InsufficientStorage => NoSpace,
                RestoreFailure.Failed => Failed,
                _ => Refused,
            };
        }
        catch (OptionsValidationException exception)
        {
            await Console.Error.WriteLineAsync("restore failed: a setting is invalid: " + exception.Message);
            return Usage;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or System.Data.SQLite.SQLiteException)
        {
            await Console.Error.WriteLineAsync("restore failed: " + exception.Message.ReplaceLineEndings(" "));
            return Failed;
        }
    }

    private static async Task<RestoreResult> RestoreFileAsync(IServiceProvider services, string file, RestoreRequest request)
    {
        await using var content = StagingFiles.OpenSequentialRead(file, StagingFiles.CopyBufferBytes);
        return await services.GetRequiredService<RestoreService>().RestoreAsync(
            content, Path.GetFileName(file), request with { DeclaredLength = content.Length }, CancellationToken.None);
    }

    // A new machine has no data folder yet: the database's folder is made, as the server's first start would.
    private static Task<RestoreResult> RestoreOffsiteAsync(IServiceProvider services, string source, OffsiteDecryptionKey? key, RestoreRequest request)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(services.GetRequiredService<DatabaseLocation>().FilePath)!);
        return services.GetRequiredService<OffsiteRestore>().RestoreAsync(source, request, key, CancellationToken.None);
    }

    // From files, not arguments: a command line is visible to every user of the box (ps) and lands in shell history.
    // The passphrase file's first line is the passphrase, as for gpg --passphrase-file: the line break that echo or an
    // editor adds is not part of it.
    private static async Task<OffsiteDecryptionKey?> ReadKeyAsync(string? privateKeyFile, string? passphraseFile)
    {
        if (privateKeyFile is null)
        {
            return null;
        }

        var passphrase = passphraseFile is null ? "" : (await File.ReadAllTextAsync(passphraseFile)).Split('\n')[0].TrimEnd('\r');
        return new OffsiteDecryptionKey(await File.ReadAllTextAsync(privateKeyFile), passphrase);
    }

    private static string Describe(RestoreResult result)
    {
        var rows = string.Join(", ", result.Rows.Select(pair => $"{pair.Key}={pair.Value.ToString(CultureInfo.InvariantCulture)}"));
        var dropped = result.TriggersDropped.Count == 0 ? "" : $"; triggers dropped: {string.Join(", ", result.TriggersDropped)}";
        return result.DryRun
            ? $"dry run: {result.Source} passes every check ({rows}){dropped}; nothing was changed"
            : $"restored {result.Source} by {result.AppliedBy} in {(long)result.Duration.TotalMilliseconds} ms ({rows}); " +
              $"safety copy: {result.PreRestoreBackupId ?? "none (there was no live database)"}; quick_check: {result.LiveQuickCheck}{dropped}";
    }
}
