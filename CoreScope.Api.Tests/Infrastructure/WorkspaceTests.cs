using Microsoft.Extensions.DependencyInjection;

namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>
/// Gives each test a <see cref="TestWorkspace"/> of its own and the servers it creates on it, all gone after the
/// test, so a test says only what is special about it: its data, its settings, its requests.
/// </summary>
public abstract class WorkspaceTests
{
    private readonly List<CoreScopeApiFactory> _servers = [];

    protected TestWorkspace Workspace { get; private set; } = null!;

    [SetUp]
    public void CreateWorkspace() => Workspace = new TestWorkspace();

    [TearDown]
    public async Task DeleteWorkspaceAsync()
    {
        // Servers first: a running one holds the database file the workspace deletes.
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
        Workspace.Dispose();
    }

    /// <summary>
    /// A server on this workspace with the strong API key and <paramref name="settings"/> on top of the factory's
    /// defaults. It starts on its first client (TestServer) or on <see cref="CoreScopeApiFactory.StartKestrel"/>.
    /// </summary>
    protected CoreScopeApiFactory CreateServer(params (string Key, string Value)[] settings) =>
        CreateServer(CoreScopeApiFactory.StrongApiKey, settings);

    /// <summary>The same with <paramref name="apiKey"/> configured (null: none).</summary>
    protected CoreScopeApiFactory CreateServer(string? apiKey, params (string Key, string Value)[] settings)
    {
        var server = new CoreScopeApiFactory(Workspace, apiKey, settings.ToDictionary(setting => setting.Key, setting => (string?)setting.Value));
        _servers.Add(server);
        return server;
    }

    /// <summary>The same on <paramref name="clock"/> (a FakeTimeProvider the test moves) instead of the real one.</summary>
    protected CoreScopeApiFactory CreateServer(TimeProvider clock, params (string Key, string Value)[] settings)
    {
        var server = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, settings.ToDictionary(setting => setting.Key, setting => (string?)setting.Value))
        {
            ConfigureServices = services => services.AddSingleton(clock),
        };
        _servers.Add(server);
        return server;
    }

    /// <summary>This test's database with the server's schema, filled as <see cref="TestDatabase.Populate"/> says.</summary>
    protected async Task CreateDatabaseAsync(int transmissions, int observationsEach = 2, int payloadBytes = 32)
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions, observationsEach, payloadBytes);
    }

    /// <summary>Saves a downloaded body under <paramref name="name"/> in the download folder, for SQLite to open.</summary>
    protected async Task<string> SaveDownloadAsync(byte[] body, string name)
    {
        var path = Path.Combine(Workspace.DownloadDirectory, name);
        await File.WriteAllBytesAsync(path, body);
        return path;
    }
}
