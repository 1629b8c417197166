namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>A temp folder of one test's own: its database, its backup temp folder, its downloads.</summary>
public sealed class TestWorkspace : IDisposable
{
    /// <summary>The database the original CoreScope wrote, copied to the test output from <c>Fixtures/</c>.</summary>
    private static readonly string OriginalsFixture = Path.Combine(AppContext.BaseDirectory, "Fixtures", "corescope-e2e-fixture.db");

    public TestWorkspace()
    {
        Root = Path.Combine(Path.GetTempPath(), "corescope-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        Directory.CreateDirectory(BackupTempDirectory);
        Directory.CreateDirectory(DownloadDirectory);
    }

    public string Root { get; }

    public string DatabasePath => Path.Combine(Root, "db", "corescope.db");

    public string BackupTempDirectory => Path.Combine(Root, "backup-tmp");

    public string DownloadDirectory => Path.Combine(Root, "downloads");

    /// <summary>The snapshot folders and files now in the backup temp folder.</summary>
    public string[] BackupTempEntries() => Directory.GetFileSystemEntries(BackupTempDirectory);

    /// <summary>Copies the original CoreScope's database into this workspace's database path, so a test may change it.</summary>
    public void UseOriginalsFixture()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        File.Copy(OriginalsFixture, DatabasePath);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A server that is still shutting down may hold a file for a moment; the OS temp cleaner gets it.
        }
    }
}
