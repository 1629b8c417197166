namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>Finds <c>../shared</c> beside the repository, where CI and developers keep the fixtures.</summary>
public static class SharedFiles
{
    public static string Root { get; } = FindShared();

    public static string FixtureDatabase => Path.Combine(Root, "fixtures", "corescope-e2e-fixture.db");

    private static string FindShared()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "CoreScope.Analyzer.sln")))
            {
                var shared = Path.Combine(folder.Parent!.FullName, "shared");
                if (Directory.Exists(shared))
                {
                    return shared;
                }

                throw new DirectoryNotFoundException($"Expected the shared folder at {shared}, beside the repository.");
            }
        }

        throw new DirectoryNotFoundException("Could not find the repository root (CoreScope.Analyzer.sln) above " + AppContext.BaseDirectory);
    }
}
