namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>A temp folder of one test's own: its database, its backup temp folder, its downloads.</summary>
public sealed class TestWorkspace : IDisposable
{
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

    /// <summary>Copies the shared fixture written by the original CoreScope into this workspace's database path.</summary>
    public void UseSharedFixture()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        File.Copy(SharedFiles.FixtureDatabase, DatabasePath);
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
