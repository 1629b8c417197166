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

    private static readonly object UndeliveredKey = new();

    /// <summary>Records that the client's TCP never acknowledged the whole body: the client left before it had it all.</summary>
    public static void MarkUndelivered(HttpContext context) => context.Items[UndeliveredKey] = true;

    /// <summary>Whether the body was written but never all acknowledged by the client.</summary>
    public static bool WasUndelivered(HttpContext context) => context.Items.ContainsKey(UndeliveredKey);

    /// <summary>The reason the server cut this download, or null when it did not.</summary>
    public static string? ReasonOf(HttpContext context) => context.Items.TryGetValue(Key, out var reason) ? reason as string : null;
}
