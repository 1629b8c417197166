using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Offsite.Encryption;

/// <summary>
/// Whether offsite copies are encrypted, and to whom (section <c>CoreScope:Offsite:Encrypt</c>). Meanings and key
/// handling: docs/offsite.md "Encryption".
/// </summary>
public sealed class OffsiteEncryptionOptions
{
    public const string SectionName = "CoreScope:Offsite:Encrypt";

    /// <summary>The setting's full name, for messages an operator reads.</summary>
    public const string PublicKeyFileSetting = SectionName + ":PublicKeyFile";

    /// <summary>
    /// An armored OpenPGP public key (<c>gpg --export --armor</c>); every key in the file is a recipient. Empty turns
    /// encryption off. A relative path is taken from the content root, like the other paths in the settings.
    /// </summary>
    public string? PublicKeyFile { get; set; }

    /// <summary>The key file's full path, or null when encryption is off.</summary>
    public string? PublicKeyPath(string contentRootPath) =>
        string.IsNullOrWhiteSpace(PublicKeyFile) ? null : Path.GetFullPath(PublicKeyFile, contentRootPath);
}

/// <summary>
/// Reads the public key at start, so a missing file, a private key put there by mistake, or a key that cannot encrypt
/// (no encryption subkey, expired, revoked) stops the server with the setting's name instead of failing the first
/// upload hours later.
/// </summary>
public sealed class OffsiteEncryptionOptionsValidator(IHostEnvironment environment, TimeProvider timeProvider)
    : IValidateOptions<OffsiteEncryptionOptions>
{
    public ValidateOptionsResult Validate(string? name, OffsiteEncryptionOptions options)
    {
        var path = options.PublicKeyPath(environment.ContentRootPath);
        if (path is null)
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            OpenPgpRecipients.Load(path, timeProvider.GetUtcNow());
            return ValidateOptionsResult.Success;
        }
        catch (OffsiteEncryptionKeyException exception)
        {
            return ValidateOptionsResult.Fail(exception.Message);
        }
    }
}
