using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;

namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// The real server, <c>dotnet CoreScope.Api.dll</c>, as a child process of the test (as bench/CoreScope.Bench starts it),
/// so that a test can kill it with SIGKILL at a chosen moment and start it again on the same files. Its log lines are
/// kept so the moment can be chosen by what the server says it is doing.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private ServerProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int ProcessId => _process.Id;

    public IReadOnlyCollection<string> Lines => _lines.ToArray();

    /// <summary>The server's DLL of the same configuration as the tests.</summary>
    public static string ServerDll
    {
        get
        {
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                ? "Release" : "Debug";
            return Path.Combine(ExternalTools.RepositoryRoot, "CoreScope.Api", "bin", configuration, "net10.0", "CoreScope.Api.dll");
        }
    }

    /// <summary>Starts the server on <paramref name="workspace"/>, with <paramref name="environment"/> on top (TZ, a setting).</summary>
    public static async Task<ServerProcess> StartAsync(TestWorkspace workspace, IReadOnlyDictionary<string, string>? environment = null)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(ServerDll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(ServerDll);
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["CoreScope__ApiKey"] = CoreScopeApiFactory.StrongApiKey;
        start.Environment["CoreScope__Database__Path"] = workspace.DatabasePath;
        start.Environment["CoreScope__Backup__TempDirectory"] = workspace.BackupTempDirectory;
        start.Environment["CoreScope__Backup__PermitsPerMinute"] = "0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["Logging__LogLevel__CoreScope"] = "Information";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the server.");
        var server = new ServerProcess(process, new Uri($"http://127.0.0.1:{port}"));
        process.OutputDataReceived += (_, line) => { if (line.Data is not null) server._lines.Enqueue(line.Data); };
        process.ErrorDataReceived += (_, line) => { if (line.Data is not null) server._lines.Enqueue(line.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The server exited with {process.ExitCode}: {string.Join('\n', server.Lines)}");
            }

            try
            {
                if ((await client.GetAsync("/api/health")).IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        await server.DisposeAsync();
        throw new TimeoutException("The server did not answer /api/health within 90 s.");
    }

    public HttpClient CreateClient()
    {
        var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Add("X-API-Key", CoreScopeApiFactory.StrongApiKey);
        return client;
    }

    /// <summary>Waits until the server has logged a line containing <paramref name="text"/>.</summary>
    public async Task WaitForLineAsync(string text, int timeoutMs = 60_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!_lines.Any(line => line.Contains(text, StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"The server never logged \"{text}\":\n{string.Join('\n', Lines)}");
            }

            await Task.Delay(2);
        }
    }

    public bool HasLogged(string text) => _lines.Any(line => line.Contains(text, StringComparison.Ordinal));

    /// <summary>SIGKILL: no shutdown, no finally blocks, no flushes; what is on disk is what the next start finds.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
