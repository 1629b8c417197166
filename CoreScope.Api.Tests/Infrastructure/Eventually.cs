namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>Waits for things the server finishes after the response (deleting a snapshot, recording its outcome), with a bound.</summary>
public static class Eventually
{
    public static async Task EmptyAsync(string folder, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (Directory.GetFileSystemEntries(folder).Length > 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{folder} still holds: {string.Join(", ", Directory.GetFileSystemEntries(folder))}");
            }

            await Task.Delay(25);
        }
    }

    /// <summary>Polls <paramref name="condition"/> until it holds; throws with <paramref name="what"/> after the timeout.</summary>
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Timed out waiting for " + what);
            }

            await Task.Delay(25);
        }
    }
}
