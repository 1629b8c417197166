namespace CoreScope.Data.Backup;

/// <summary>How a wait is told to clients: whole seconds, rounded up, never zero (RFC 9110 <c>Retry-After</c>).</summary>
public static class RetryAfter
{
    public static int ToSeconds(TimeSpan wait) => Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
}
