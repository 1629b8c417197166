using CoreScope.Data.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite.Signing;

/// <summary>
/// How the manifests on the targets are signed and checked (section <c>CoreScope:Offsite:Signing</c>): an HMAC key
/// kept on the box (the default), or an OpenPGP key pair. Meanings and what each protects: docs/offsite.md "Signed manifests".
/// </summary>
public sealed class OffsiteSigningOptions
{
    public const string SectionName = "CoreScope:Offsite:Signing";

    /// <summary>The settings' full names, for messages an operator reads.</summary>
    public const string KeySetting = SectionName + ":Key";
    public const string PrivateKeyFileSetting = SectionName + ":PrivateKeyFile";
    public const string PassphraseSetting = SectionName + ":Passphrase";
    public const string PassphraseFileSetting = SectionName + ":PassphraseFile";
    public const string PublicKeyFileSetting = SectionName + ":PublicKeyFile";

    /// <summary>The HMAC key file's name, beside the database when <see cref="Key"/> is empty.</summary>
    public const string KeyFileName = "offsite-signing.key";

    /// <summary>The HMAC-SHA256 key, base64 of at least 32 bytes; empty takes <see cref="KeyFileName"/> beside the database. Never logged.</summary>
    public string? Key { get; set; }

    /// <summary>An armored OpenPGP private key to sign with (<c>gpg --export-secret-keys --armor</c>); turns HMAC off.</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>The passphrase of <see cref="PrivateKeyFile"/>; never logged. Or <see cref="PassphraseFile"/>.</summary>
    public string? Passphrase { get; set; }

    /// <summary>A file whose first line is the passphrase of <see cref="PrivateKeyFile"/>.</summary>
    public string? PassphraseFile { get; set; }

    /// <summary>
    /// An armored OpenPGP public key (<c>gpg --export --armor</c>) that the signatures are checked with; turns HMAC off.
    /// Enough alone on a machine that only lists and restores. With <see cref="PrivateKeyFile"/> unset there, nothing is signed.
    /// </summary>
    public string? PublicKeyFile { get; set; }

    /// <summary>Whether the manifests are signed and checked with OpenPGP rather than HMAC.</summary>
    public bool UsesOpenPgp => !string.IsNullOrWhiteSpace(PrivateKeyFile) || !string.IsNullOrWhiteSpace(PublicKeyFile);

    internal static string? FullPath(string? path, string contentRootPath) =>
        string.IsNullOrWhiteSpace(path) ? null : Path.GetFullPath(path, contentRootPath);
}

/// <summary>
/// Reads every key at start, so a key that is missing, of the wrong kind, locked with another passphrase, or not in the
/// public key file stops the server with the setting's name instead of failing the first copy, or refusing every
/// restore, hours later.
/// </summary>
public sealed class OffsiteSigningOptionsValidator(IHostEnvironment environment, DatabaseLocation database) : IValidateOptions<OffsiteSigningOptions>
{
    public ValidateOptionsResult Validate(string? name, OffsiteSigningOptions options)
    {
        try
        {
            OffsiteSigningKeys.Load(options, environment.ContentRootPath, database.FilePath);
            return ValidateOptionsResult.Success;
        }
        catch (OffsiteSigningKeyException exception)
        {
            return ValidateOptionsResult.Fail(exception.Message);
        }
    }
}

/// <summary>A signing setting or key file cannot be used; the message names the setting and what to do.</summary>
public sealed class OffsiteSigningKeyException(string message) : Exception(message);
