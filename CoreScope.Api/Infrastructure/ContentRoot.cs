namespace CoreScope.Api.Infrastructure;

/// <summary>Where the server takes its relative paths from: appsettings.json, <c>data/corescope.db</c>, wwwroot.</summary>
public static class ContentRoot
{
    /// <summary>
    /// The application's own folder, whatever the working directory: the framework's default is the working
    /// directory, so <c>dotnet /opt/app/CoreScope.Api.dll</c> started elsewhere (a service unit without
    /// WorkingDirectory runs in <c>/</c>) ignored the app's appsettings.json, its key and database path, made
    /// <c>./data/</c> there and served no <c>/admin</c>. A content root given on purpose (<c>--contentRoot</c>,
    /// <c>ASPNETCORE_CONTENTROOT</c> or <c>DOTNET_CONTENTROOT</c>) still wins.
    /// </summary>
    public static string Resolve(string[] args)
    {
        var chosen = new ConfigurationBuilder()
            .AddEnvironmentVariables("DOTNET_")
            .AddEnvironmentVariables("ASPNETCORE_")
            .AddCommandLine(args)
            .Build()[HostDefaults.ContentRootKey];
        return string.IsNullOrEmpty(chosen) ? AppContext.BaseDirectory : Path.GetFullPath(chosen);
    }
}
