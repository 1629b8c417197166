using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json.Nodes;

namespace CoreScope.Api.Tests.Operators;

/// <summary>
/// The app as an operator deploys it: published to a folder and started with <c>dotnet CoreScope.Api.dll</c> from
/// somewhere else, as a service unit without a working directory does. Its appsettings.json, database and /admin
/// must come from its own folder, and a start it refuses must end with one line and a non-zero exit code.
/// </summary>
[Category("Slow")]
public sealed class PublishedAppTests : WorkspaceTests
{
    private const string KeyInAppSettings = "published-3f9a1c0b7e2d4a68b5c1";

    private static readonly string Configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";

    private string _published = null!;

    [OneTimeSetUp]
    public async Task PublishOnceAsync()
    {
        // --no-build: the test project has just built CoreScope.Api in this configuration; publish only lays it out.
        _published = Path.Combine(Path.GetTempPath(), "corescope-tests", "published-" + Guid.NewGuid().ToString("N"));
        var (exitCode, output, error) = await ExternalTools.RunAsync("dotnet",
            ["publish", Path.Combine(ExternalTools.RepositoryRoot, "CoreScope.Api", "CoreScope.Api.csproj"), "--no-build", "-c", Configuration, "-o", _published],
            timeoutMs: 300_000);
        exitCode.Should().Be(0, output + error);
    }

    [OneTimeTearDown]
    public void DeletePublished() => Directory.Delete(_published, recursive: true);

    [Test]
    public async Task StartedFromAnotherFolder_TakesSettingsDatabaseAndAdminPageFromItsOwnFolder()
    {
        var app = CopyPublishedApp();
        await SetAppSettingsAsync(app, settings =>
        {
            settings["ApiKey"] = KeyInAppSettings;
            settings["Backup"]!["TempDirectory"] = Workspace.BackupTempDirectory;
        });
        var elsewhere = Directory.CreateDirectory(Path.Combine(Workspace.Root, "elsewhere")).FullName;

        using var server = await StartAsync(app, elsewhere);
        using var client = new HttpClient { BaseAddress = server.Address };
        using var admin = await client.GetAsync("/admin");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/backup");
        request.Headers.Add("X-API-Key", KeyInAppSettings);
        using var backup = await client.SendAsync(request);

        admin.StatusCode.Should().Be(HttpStatusCode.OK, "wwwroot is found beside the app");
        backup.StatusCode.Should().Be(HttpStatusCode.OK, "the key comes from the app's appsettings.json");
        File.Exists(Path.Combine(app, "data", "corescope.db")).Should().BeTrue("data/corescope.db is relative to the app's folder");
        Directory.GetFileSystemEntries(elsewhere).Should().BeEmpty("nothing is created in the working directory");
    }

    [TestCase("CoreScope__Backup__MaxConcurrent", "0", "CoreScope:Backup:MaxConcurrent: The field MaxConcurrent must be between 1 and 64.")]
    [TestCase("CoreScope__Backup__MaxConcurrent", "many", "Failed to convert configuration value 'many' at 'CoreScope:Backup:MaxConcurrent'")]
    [TestCase("CoreScope__ApiKey", "pasted-from-windows-3f9a1c0b7e2d\r", "CoreScope:ApiKey starts or ends with whitespace or a line break")]
    [TestCase("CoreScope__Backup__TempDirectory", "{file}", "is a file, not a folder")]
    public async Task BadSetting_EndsWithOneLineAndExitCode78_NotAnAbortWithAStackTrace(string variable, string value, string message)
    {
        var app = CopyPublishedApp();
        var file = Path.Combine(Workspace.Root, "a-file");
        await File.WriteAllTextAsync(file, "not a folder");
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["CoreScope__Backup__TempDirectory"] = Workspace.BackupTempDirectory,
            [variable] = value.Replace("{file}", file, StringComparison.Ordinal),
        };

        var (exitCode, output, error) = await ExternalTools.RunAsync("dotnet", [Path.Combine(app, "CoreScope.Api.dll")], environment, timeoutMs: 60_000);

        exitCode.Should().Be(78, output + error);
        error.TrimEnd().Split('\n').Should().ContainSingle().Which.Should().StartWith("CoreScope.Analyzer cannot start: ").And.Contain(message);
        (output + error).Should().NotContain("   at ", "no stack trace for a setting the operator can fix");
    }

    [Test]
    public async Task MissingDatabaseThatExistedBefore_EndsWithOneLineAndExitCode78()
    {
        var app = CopyPublishedApp();
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["CoreScope__Backup__TempDirectory"] = Workspace.BackupTempDirectory,
        };
        using (await StartAsync(app, Workspace.Root, environment))
        {
        }

        foreach (var file in Directory.GetFiles(Path.Combine(app, "data"), "corescope.db*"))
        {
            File.Delete(file);
        }

        var (exitCode, output, error) = await ExternalTools.RunAsync("dotnet", [Path.Combine(app, "CoreScope.Api.dll")], environment, timeoutMs: 60_000);

        exitCode.Should().Be(78, output + error);
        error.Should().StartWith("CoreScope.Analyzer cannot start: The database").And.Contain("is missing").And.Contain(".corescope.db.marker");
        File.Exists(Path.Combine(app, "data", "corescope.db")).Should().BeFalse();
    }

    private string CopyPublishedApp()
    {
        var app = Path.Combine(Workspace.Root, "app");
        foreach (var file in Directory.EnumerateFiles(_published, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(app, Path.GetRelativePath(_published, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        return app;
    }

    private static async Task SetAppSettingsAsync(string app, Action<JsonObject> change)
    {
        var path = Path.Combine(app, "appsettings.json");
        var settings = JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsObject();
        change(settings["CoreScope"]!.AsObject());
        await File.WriteAllTextAsync(path, settings.ToJsonString());
    }

    private static async Task<RunningApp> StartAsync(string app, string workingDirectory, IDictionary<string, string?>? environment = null)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(app, "CoreScope.Api.dll"));
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            start.Environment[name] = value;
        }

        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        var running = new RunningApp(Process.Start(start)!, new Uri($"http://127.0.0.1:{port}"));
        await running.WaitUntilHealthyAsync();
        return running;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A started server process, ended by its own id when the test is done with it.</summary>
    private sealed class RunningApp : IDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _output;
        private readonly Task<string> _error;

        public RunningApp(Process process, Uri address)
        {
            _process = process;
            _output = process.StandardOutput.ReadToEndAsync();
            _error = process.StandardError.ReadToEndAsync();
            Address = address;
        }

        public Uri Address { get; }

        public async Task WaitUntilHealthyAsync()
        {
            using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(2) };
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (DateTime.UtcNow < deadline)
            {
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"The app exited with {_process.ExitCode}: {await _output}{await _error}");
                }

                try
                {
                    if ((await client.GetAsync("/api/health")).IsSuccessStatusCode)
                    {
                        return;
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

            throw new TimeoutException("The app did not answer /api/health within 60 s.");
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                _process.WaitForExit(10_000);
            }

            _process.Dispose();
        }
    }
}
