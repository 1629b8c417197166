namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>Finds <c>../shared</c> beside the repository, where CI and developers keep the fixtures.</summary>
public static class SharedFiles
{
    public static string Root { get; } = FindShared();

    public static string FixtureDatabase => Path.Combine(Root, "fixtures", "corescope-e2e-fixture.db");

    private static string FindShared()
    {
        var shared = Path.Combine(Path.GetDirectoryName(ExternalTools.RepositoryRoot)!, "shared");
        return Directory.Exists(shared)
            ? shared
            : throw new DirectoryNotFoundException($"Expected the shared folder at {shared}, beside the repository.");
    }
}
