using System.Security.Cryptography;
using CoreScope.Data.Offsite.Encryption;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace CoreScope.Api.Tests.Offsite.Encryption;

/// <summary>
/// What the encryption tests share: a workspace, a gpg with a key ring of its own, and <see cref="OffsiteEncryption"/>
/// as the server builds it (a host with the setting, the content root at the workspace, the log captured).
/// </summary>
public abstract class EncryptionTests : WorkspaceTests
{
    private readonly List<IHost> _hosts = [];

    protected GpgHome Gpg { get; private set; } = null!;

    protected CapturedLogs Logs { get; private set; } = null!;

    [SetUp]
    public void CreateGpgHome()
    {
        Logs = new CapturedLogs();
        Gpg = GpgHome.Create(Workspace.Root);
    }

    [TearDown]
    public async Task DisposeGpgHomeAsync()
    {
        foreach (var host in _hosts)
        {
            host.Dispose();
        }

        _hosts.Clear();
        Logs.Dispose();
        await Gpg.DisposeAsync();
    }

    /// <summary>A host with <c>CoreScope:Offsite:Encrypt:PublicKeyFile</c> set, not started.</summary>
    protected IHost BuildHost(string? publicKeyFile, TimeProvider? timeProvider = null)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = Workspace.Root });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [OffsiteEncryptionOptions.PublicKeyFileSetting] = publicKeyFile });
        builder.Logging.AddProvider(Logs);
        if (timeProvider is not null)
        {
            builder.Services.AddSingleton(timeProvider);
        }

        builder.Services.AddOffsiteEncryption();
        var host = builder.Build();
        _hosts.Add(host);
        return host;
    }

    /// <summary>The service of a started host: the start has checked the key file, as a server's would.</summary>
    protected async Task<OffsiteEncryption> StartEncryptionAsync(string? publicKeyFile, TimeProvider? timeProvider = null)
    {
        var host = BuildHost(publicKeyFile, timeProvider);
        await host.StartAsync();
        return host.Services.GetRequiredService<OffsiteEncryption>();
    }

    /// <summary>A gpg key pair and its public key exported where the box would keep it; returns the fingerprint and the file.</summary>
    protected async Task<(string Fingerprint, string PublicKeyFile)> CreateKeyAsync(string name = "CoreScope Offsite", string algorithm = "future-default")
    {
        var fingerprint = await Gpg.GenerateKeyAsync(name, algorithm);
        var file = await Gpg.ExportPublicKeyAsync(fingerprint, Path.Combine(Workspace.Root, $"{name.Replace(' ', '-')}.asc"));
        return (fingerprint, file);
    }

    /// <summary>A real CoreScope database (the payload of a stored backup), checkpointed so the file alone is whole.</summary>
    protected async Task<string> CreateSqliteFileAsync(int transmissions = 3_000)
    {
        await CreateDatabaseAsync(transmissions, payloadBytes: 64);
        using (var connection = TestDatabase.Open(Workspace.DatabasePath))
        {
            connection.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        }

        var copy = Path.Combine(Workspace.DownloadDirectory, "corescope-backup.db");
        File.Copy(Workspace.DatabasePath, copy);
        return copy;
    }

    /// <summary>A file of random bytes (as incompressible as a .db.gz), written a block at a time.</summary>
    protected string CreateRandomFile(long bytes, string name = "random.bin")
    {
        var path = Path.Combine(Workspace.DownloadDirectory, name);
        using var file = File.Create(path);
        var block = new byte[1024 * 1024];
        for (long written = 0; written < bytes; written += block.Length)
        {
            RandomNumberGenerator.Fill(block);
            file.Write(block, 0, (int)Math.Min(block.Length, bytes - written));
        }

        return path;
    }

    protected static string Sha256Of(string path)
    {
        using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(file));
    }

    /// <summary>The files left in <paramref name="folder"/> (the test's downloads), to show nothing partial stayed.</summary>
    protected static string[] FileNames(string folder) => Directory.GetFiles(folder).Select(Path.GetFileName).OfType<string>().Order().ToArray();
}
