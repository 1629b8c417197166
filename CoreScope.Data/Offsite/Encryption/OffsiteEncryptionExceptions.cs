namespace CoreScope.Data.Offsite.Encryption;

/// <summary>
/// The configured public key cannot be encrypted to (missing, not a public key, no encryption subkey, expired or
/// revoked). The message names the setting and the file and says what to do; it never holds key material.
/// </summary>
public sealed class OffsiteEncryptionKeyException(string message) : Exception(message);

/// <summary>
/// The private key or passphrase the operator supplied does not open the file: the passphrase is wrong, the key is
/// not the one the file was encrypted to, or the text is not an armored private key. The operator's input, so a
/// request answers 4xx. The message names key ids (public) and never the key or the passphrase.
/// </summary>
public sealed class OffsiteDecryptionKeyException(string message) : Exception(message);

/// <summary>
/// The encrypted file is not a whole, unaltered OpenPGP message: its integrity check (MDC) failed, it is cut short,
/// or it is not an encrypted OpenPGP message at all. Nothing decrypted from it is kept.
/// </summary>
public sealed class EncryptedFileDamagedException(string message, Exception? innerException = null) : Exception(message, innerException);
