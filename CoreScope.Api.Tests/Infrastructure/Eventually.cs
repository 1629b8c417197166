namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>Waits for things the server finishes after the response (deleting a snapshot), with a bound.</summary>
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
}
