using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>
/// The real server, configured for one test: its own database file and backup temp folder, an optional API
/// key and any further settings. <see cref="StartKestrel"/> puts it on a real socket on 127.0.0.1.
/// </summary>
public sealed class CoreScopeApiFactory(TestWorkspace workspace, string? apiKey, IReadOnlyDictionary<string, string?>? settings = null)
    : WebApplicationFactory<Program>
{
    public const string StrongApiKey = "k3y-for-tests-0123456789abcdef";

    public TestWorkspace Workspace { get; } = workspace;

    public Uri? ServerAddress { get; private set; }

    /// <summary>Every line the server logged.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>Replaces framework services for one test, such as the clock (a FakeTimeProvider as TimeProvider).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.ConfigureLogging(logging => logging.AddProvider(Logs));
        builder.UseSetting("CoreScope:Database:Path", Workspace.DatabasePath);
        builder.UseSetting("CoreScope:Backup:TempDirectory", Workspace.BackupTempDirectory);
        builder.UseSetting("CoreScope:ApiKey", apiKey ?? string.Empty);

        // Most tests take several backups in a row; the tests of the limit itself turn it back on.
        builder.UseSetting("CoreScope:Backup:PermitsPerMinute", "0");
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        if (ConfigureServices is { } configureServices)
        {
            builder.ConfigureTestServices(configureServices);
        }
    }

    /// <summary>Runs the server on Kestrel on 127.0.0.1 and an ephemeral port, for what TestServer cannot show.</summary>
    public Uri StartKestrel()
    {
        UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        StartServer();
        using var client = CreateClient();
        ServerAddress = client.BaseAddress ?? throw new InvalidOperationException("Kestrel reported no address.");
        return ServerAddress;
    }

    /// <summary>A client that sends the configured key, as the operator's scripts do.</summary>
    public HttpClient CreateOperatorClient() => CreateClient(apiKey);

    /// <summary>A client that sends <paramref name="key"/> in X-API-Key on every request.</summary>
    public HttpClient CreateClient(string? key)
    {
        var client = CreateDefaultClient(new ApiKeyHandler(key));
        if (ServerAddress is not null)
        {
            client.BaseAddress = ServerAddress;
        }

        return client;
    }

    private sealed class ApiKeyHandler(string? key) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (key is not null)
            {
                request.Headers.Add("X-API-Key", key);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
