using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Azure.Storage.Blobs;

namespace CoreScope.Api.Tests.Offsite;

/// <summary>
/// A storage emulator from npm (<c>tools/offsite-emulators</c>, installed by <c>.ci/setup</c> with <c>npm ci</c>) run by a
/// test with the machine's Node.js: on 127.0.0.1 and a free port, its data in the test's own folder; stopped by its own
/// process handle, and started again on the same port and folder to play an outage.
/// </summary>
public abstract class EmulatorProcess : IAsyncDisposable
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    protected EmulatorProcess(string folder)
    {
        Folder = folder;
        Directory.CreateDirectory(folder);
        Port = FreePort();
    }

    public static string PackageFolder { get; } = Path.Combine(ExternalTools.RepositoryRoot, "tools", "offsite-emulators");

    /// <summary>Whether <c>npm ci</c> has run in <see cref="PackageFolder"/>.</summary>
    public static bool Installed => Directory.Exists(Path.Combine(PackageFolder, "node_modules", "s3rver")) && Directory.Exists(Path.Combine(PackageFolder, "node_modules", "azurite"));

    public string Folder { get; }

    public int Port { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool Running => _process is { HasExited: false };

    /// <summary>The emulator's script under node_modules, and its arguments.</summary>
    protected abstract (string Script, IReadOnlyList<string> Arguments) Command();

    public async Task StartAsync()
    {
        if (!Installed)
        {
            Assert.Fail($"The emulators are not installed: run `npm ci` in {PackageFolder} (.ci/setup does).");
        }

        var (script, arguments) = Command();
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Folder,
        };
        start.ArgumentList.Add(Path.Combine(PackageFolder, "node_modules", script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start node " + script);
        process.OutputDataReceived += (_, line) => { lock (_output) { _output.AppendLine(line.Data); } };
        process.ErrorDataReceived += (_, line) => { lock (_output) { _output.AppendLine(line.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        await WaitListeningAsync();
    }

    /// <summary>Stops the emulator at once (SIGKILL to its own process), as a crash or a pulled cable would.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        GC.SuppressFinalize(this);
    }

    private async Task WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_process!.HasExited)
            {
                throw new InvalidOperationException($"{GetType().Name} exited with {_process.ExitCode}: {Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                // Not listening yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{GetType().Name} did not listen on {Port}: {Output}");
            }

            await Task.Delay(100);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// s3rver 3.7.1: an S3 API on the file system, with the bucket <see cref="Bucket"/> made at start. Its one key pair is
/// S3RVER/S3RVER; it checks the access key id of a SigV4 request but not its signature, so wrong credentials are played
/// with an unknown access key (InvalidAccessKeyId).
/// </summary>
public sealed class S3rverEmulator(string folder) : EmulatorProcess(folder)
{
    public const string Bucket = "corescope";
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    public string ServiceUrl => $"http://127.0.0.1:{Port}";

    /// <summary>The server's settings for this emulator's bucket.</summary>
    public Dictionary<string, string?> Settings(string prefix = "corescope/", string bucket = Bucket, string accessKey = AccessKey) => new()
    {
        ["CoreScope:Offsite:S3:ServiceUrl"] = ServiceUrl,
        ["CoreScope:Offsite:S3:Bucket"] = bucket,
        ["CoreScope:Offsite:S3:Prefix"] = prefix,
        ["CoreScope:Offsite:S3:ForcePathStyle"] = "true",
        ["CoreScope:Offsite:S3:AccessKeyId"] = accessKey,
        ["CoreScope:Offsite:S3:SecretAccessKey"] = SecretKey,
    };

    /// <summary>An object's bytes as s3rver keeps them on disk (it stores each object in a file named after its key).</summary>
    public async Task<byte[]> ReadObjectAsync(string key)
    {
        using var http = new HttpClient { BaseAddress = new Uri(ServiceUrl + "/") };

        // s3rver serves anonymous reads of its buckets; the test reads what the server uploaded without the SDK in between.
        return await http.GetByteArrayAsync(Bucket + "/" + string.Join('/', key.Split('/').Select(Uri.EscapeDataString)));
    }

    /// <summary>Writes an object as anyone holding the bucket's credentials could, without the server.</summary>
    public async Task WriteObjectAsync(string key, byte[] content)
    {
        using var client = new Amazon.S3.AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials(AccessKey, SecretKey), new Amazon.S3.AmazonS3Config
        {
            ServiceURL = ServiceUrl,
            ForcePathStyle = true,
            AuthenticationRegion = "us-east-1",
            RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED,
        });
        await client.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest
        {
            BucketName = Bucket, Key = key, InputStream = new MemoryStream(content), UseChunkEncoding = false,
        });
    }

    protected override (string Script, IReadOnlyList<string> Arguments) Command() =>
        ("s3rver/bin/s3rver.js", ["--directory", Path.Combine(Folder, "data"), "--address", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--silent", "--configure-bucket", Bucket]);
}

/// <summary>Azurite 3.37.0's blob service, with its well-known development account; <see cref="CreateContainerAsync"/> makes the container.</summary>
public sealed class AzuriteEmulator(string folder) : EmulatorProcess(folder)
{
    public const string Container = "corescope";

    /// <summary>Azurite's documented development account key (the same in every Azurite).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    public string ConnectionString(string accountKey = AccountKey) =>
        $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={accountKey};BlobEndpoint=http://127.0.0.1:{Port}/devstoreaccount1;";

    public Dictionary<string, string?> Settings(string prefix = "corescope/", string container = Container, string accountKey = AccountKey) => new()
    {
        ["CoreScope:Offsite:AzureBlob:ConnectionString"] = ConnectionString(accountKey),
        ["CoreScope:Offsite:AzureBlob:Container"] = container,
        ["CoreScope:Offsite:AzureBlob:Prefix"] = prefix,
    };

    public BlobContainerClient ContainerClient() =>
        new(ConnectionString(), Container, new BlobClientOptions(CoreScope.Data.Offsite.AzureBlobTarget.ServiceVersion));

    public async Task CreateContainerAsync() => await ContainerClient().CreateIfNotExistsAsync();

    public async Task<byte[]> ReadBlobAsync(string name) => (await ContainerClient().GetBlobClient(name).DownloadContentAsync()).Value.Content.ToArray();

    /// <summary>Writes a blob as anyone holding the account key could, without the server.</summary>
    public async Task WriteBlobAsync(string name, byte[] content) => await ContainerClient().GetBlobClient(name).UploadAsync(new BinaryData(content), overwrite: true);

    protected override (string Script, IReadOnlyList<string> Arguments) Command() =>
        ("azurite/dist/src/blob/main.js", ["--blobHost", "127.0.0.1", "--blobPort", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--location", Path.Combine(Folder, "data"), "--silent", "--disableTelemetry"]);
}
