namespace CoreScope.Api.Tests.Offsite.Encryption;

/// <summary>
/// Debian's real gpg with a key ring of its own (GNUPGHOME in the test's workspace), driven in batch mode with the
/// passphrase on the command line (loopback pinentry), as an operator's script would. Disposing ends its agent, by
/// its home, and deletes the home.
/// </summary>
public sealed class GpgHome : IAsyncDisposable
{
    /// <summary>Not ASCII on purpose: gpg hashes the UTF-8 bytes, and so must we.</summary>
    public const string Passphrase = "correct horse battery staple – ✓";

    private GpgHome(string home) => Home = home;

    public string Home { get; }

    /// <summary>A new, empty GNUPGHOME under <paramref name="parent"/>; ignores the test when gpg is missing outside CI.</summary>
    public static GpgHome Create(string parent)
    {
        if (ExternalTools.Gpg is null)
        {
            const string missing = "GnuPG is not installed (apt-get install -y gnupg; .ci/setup does it).";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(missing);
            }

            Assert.Ignore(missing);
        }

        // gpg warns about a home others may read; the agent's socket path must stay short (under 108 bytes).
        var home = Path.Combine(parent, "gnupg");
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(home);
        }
        else
        {
            Directory.CreateDirectory(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return new GpgHome(home);
    }

    /// <summary>
    /// Makes a key pair protected by <see cref="Passphrase"/>; returns the primary key's fingerprint.
    /// <paramref name="algorithm"/> <c>default</c> is gpg 2.2's RSA 3072 with an encryption subkey, <c>future-default</c>
    /// ed25519 with a cv25519 one; a named algorithm (<c>rsa2048</c>) makes a primary key alone, with <paramref name="usage"/>.
    /// </summary>
    public async Task<string> GenerateKeyAsync(string name, string algorithm = "future-default", string usage = "default", string expire = "never")
    {
        await GpgAsync("--pinentry-mode", "loopback", "--passphrase", Passphrase, "--quick-gen-key", $"{name} <{name.Replace(' ', '.')}@example.invalid>",
            algorithm, usage, expire);
        var listing = await GpgAsync("--list-keys", "--with-colons", $"<{name.Replace(' ', '.')}@example.invalid>");
        return listing.Split('\n').First(line => line.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
    }

    /// <summary>Writes the armored public key of <paramref name="fingerprint"/> (what goes on the box) to <paramref name="path"/>.</summary>
    public async Task<string> ExportPublicKeyAsync(string fingerprint, string path)
    {
        await File.WriteAllTextAsync(path, await GpgAsync("--armor", "--export", fingerprint));
        return path;
    }

    /// <summary>The armored private key of <paramref name="fingerprint"/>, still protected by the passphrase.</summary>
    public Task<string> ExportPrivateKeyAsync(string fingerprint) =>
        GpgAsync("--pinentry-mode", "loopback", "--passphrase", Passphrase, "--armor", "--export-secret-keys", fingerprint);

    /// <summary>Revokes the key with the revocation certificate gpg made beside it (its first colon keeps it from being imported by accident).</summary>
    public async Task RevokeAsync(string fingerprint)
    {
        var certificate = Path.Combine(Home, "openpgp-revocs.d", fingerprint + ".rev");
        var text = (await File.ReadAllTextAsync(certificate)).Replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----");
        var armed = Path.Combine(Home, "revocation.asc");
        await File.WriteAllTextAsync(armed, text);
        await GpgAsync("--import", armed);
    }

    /// <summary>gpg's own encryption to <paramref name="fingerprint"/>, with its defaults (it compresses).</summary>
    public Task EncryptAsync(string input, string output, string fingerprint) =>
        GpgAsync("--trust-model", "always", "--recipient", fingerprint, "--output", output, "--encrypt", input);

    /// <summary><c>gpg --decrypt</c>, as the operator's guide says; returns its exit code and what it wrote to standard error.</summary>
    public async Task<(int ExitCode, string StandardError)> DecryptAsync(string input, string output)
    {
        var (exitCode, _, error) = await RunAsync("--pinentry-mode", "loopback", "--passphrase", Passphrase, "--output", output, "--decrypt", input);
        return (exitCode, error);
    }

    /// <summary><c>gpg --verify {signature} {data}</c> with this home's keys, as docs/offsite.md "Signed manifests" says; its exit code and standard error.</summary>
    public async Task<(int ExitCode, string StandardError)> VerifyAsync(string signature, string data)
    {
        var (exitCode, _, error) = await RunAsync("--verify", signature, data);
        return (exitCode, error);
    }

    /// <summary>What the file is made of, packet by packet (<c>gpg --list-packets</c>).</summary>
    public async Task<string> ListPacketsAsync(string file)
    {
        var (_, output, error) = await RunAsync("--pinentry-mode", "loopback", "--passphrase", Passphrase, "--verbose", "--list-packets", file);
        return output + error;
    }

    public async ValueTask DisposeAsync()
    {
        await ExternalTools.RunAsync("gpgconf", ["--kill", "gpg-agent"], GnupgHome(), timeoutMs: 30_000);
        try
        {
            Directory.Delete(Home, recursive: true);
        }
        catch (IOException)
        {
            // The agent may still be removing its sockets; the workspace's own deletion or the OS temp cleaner gets them.
        }
    }

    private async Task<string> GpgAsync(params string[] arguments)
    {
        var (exitCode, output, error) = await RunAsync(arguments);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"gpg {string.Join(' ', arguments.Where(argument => argument != Passphrase))} failed ({exitCode}): {error}");
        }

        return output;
    }

    private Task<(int ExitCode, string StandardOutput, string StandardError)> RunAsync(params string[] arguments) =>
        ExternalTools.RunAsync(ExternalTools.Gpg!, ["--batch", "--yes", .. arguments], GnupgHome(), timeoutMs: 600_000);

    private Dictionary<string, string?> GnupgHome() => new() { ["GNUPGHOME"] = Home };
}
