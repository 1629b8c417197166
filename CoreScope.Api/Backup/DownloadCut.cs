namespace CoreScope.Api.Backup;

/// <summary>
/// Why the server itself cut a download (its deadline, or a client that stopped reading), kept on the request so the
/// audit can tell that apart from a client that left on its own: the first is a backup that failed, the second is not.
/// </summary>
public static class DownloadCut
{
    private static readonly object Key = new();

    /// <summary>Records why the server is about to abort this download, then aborts it.</summary>
    public static void Abort(HttpContext context, string reason)
    {
        context.Items[Key] = reason;
        context.Abort();
    }

    /// <summary>The reason the server cut this download, or null when it did not.</summary>
    public static string? ReasonOf(HttpContext context) => context.Items.TryGetValue(Key, out var reason) ? reason as string : null;
}
