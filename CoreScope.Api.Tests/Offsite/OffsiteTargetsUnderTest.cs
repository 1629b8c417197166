namespace CoreScope.Api.Tests.Offsite;

/// <summary>One emulator as the offsite tests use it, whichever it is: start, the server's settings, what it holds.</summary>
public sealed class TargetUnderTest : IAsyncDisposable
{
    private TargetUnderTest(string name, EmulatorProcess emulator)
    {
        Name = name;
        Emulator = emulator;
    }

    /// <summary><c>s3</c> or <c>azureblob</c>, the name the server gives the target.</summary>
    public string Name { get; }

    public EmulatorProcess Emulator { get; }

    /// <summary>Starts the emulator for <paramref name="name"/> in a folder of its own under <paramref name="root"/>, with its bucket or container made.</summary>
    public static async Task<TargetUnderTest> StartAsync(string name, string root)
    {
        var folder = Path.Combine(root, "emulator-" + name);
        EmulatorProcess emulator = name == "s3" ? new S3rverEmulator(folder) : new AzuriteEmulator(folder);
        var target = new TargetUnderTest(name, emulator);
        await target.StartAgainAsync();
        return target;
    }

    /// <summary>Starts the emulator (again) on the same port and folder.</summary>
    public async Task StartAgainAsync()
    {
        await Emulator.StartAsync();
        if (Emulator is AzuriteEmulator azurite)
        {
            await azurite.CreateContainerAsync();
        }
    }

    /// <summary>The server's settings pointing at this emulator, with quick retries so a test waits seconds, not minutes.</summary>
    public Dictionary<string, string?> Settings(string prefix = "corescope/", string? bucket = null, bool wrongCredentials = false)
    {
        var settings = Emulator switch
        {
            S3rverEmulator s3 => s3.Settings(prefix, bucket ?? S3rverEmulator.Bucket, wrongCredentials ? "NOT-A-KNOWN-KEY" : S3rverEmulator.AccessKey),
            AzuriteEmulator azure => azure.Settings(prefix, bucket ?? AzuriteEmulator.Container,
                wrongCredentials ? Convert.ToBase64String(new byte[64]) : AzuriteEmulator.AccountKey),
            _ => throw new InvalidOperationException(),
        };
        settings["CoreScope:Offsite:FirstRetryDelaySeconds"] = "0.5";
        settings["CoreScope:Offsite:MaxAttempts"] = "8";
        settings["CoreScope:Offsite:RequestTimeoutSeconds"] = "10";
        settings["CoreScope:Offsite:PartSizeMB"] = "5";
        return settings;
    }

    /// <summary>An object's bytes, read from the emulator without the server.</summary>
    public Task<byte[]> ReadAsync(string key) => Emulator switch
    {
        S3rverEmulator s3 => s3.ReadObjectAsync(key),
        AzuriteEmulator azure => azure.ReadBlobAsync(key),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Writes an object into the bucket or container without the server: what anyone who can write it can do.</summary>
    public Task WriteAsync(string key, byte[] content) => Emulator switch
    {
        S3rverEmulator s3 => s3.WriteObjectAsync(key, content),
        AzuriteEmulator azure => azure.WriteBlobAsync(key, content),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Whether the emulator holds an object under <paramref name="key"/>.</summary>
    public async Task<bool> HoldsAsync(string key)
    {
        try
        {
            await ReadAsync(key);
            return true;
        }
        catch (HttpRequestException exception) when (exception.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
        catch (Azure.RequestFailedException exception) when (exception.Status == 404)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync() => Emulator.DisposeAsync();
}

/// <summary>What the offsite tests do over and over.</summary>
public static class OffsiteCopies
{
    /// <summary>Waits until the stored backup's manifest lists a copy on <paramref name="target"/>, and returns that entry.</summary>
    public static async Task<JsonElement> WaitForCopyAsync(HttpClient client, string id, string target, int timeoutMs = 60_000)
    {
        JsonElement copy = default;
        await Eventually.TrueAsync(async () =>
        {
            using var response = await client.GetAsync($"/api/backups/{id}");
            var manifest = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            if (manifest.TryGetProperty("offsite", out var offsite) && offsite.ValueKind == JsonValueKind.Array)
            {
                foreach (var entry in offsite.EnumerateArray().Where(entry => entry.GetProperty("target").GetString() == target))
                {
                    copy = entry.Clone();
                    return true;
                }
            }

            return false;
        }, $"backup {id} to be copied to {target}", timeoutMs);
        return copy;
    }

    /// <summary>
    /// What the operator keeps off the box for a new one (docs/offsite.md "Signed manifests"): the HMAC key file made
    /// beside the old database, put beside the new one. Returns where it went.
    /// </summary>
    public static string BringSigningKey(string oldDatabase, string newDatabase)
    {
        var folder = Path.GetDirectoryName(newDatabase)!;
        Directory.CreateDirectory(folder);
        var keyFile = Path.Combine(folder, CoreScope.Data.Offsite.Signing.OffsiteSigningOptions.KeyFileName);
        File.Copy(Path.Combine(Path.GetDirectoryName(oldDatabase)!, CoreScope.Data.Offsite.Signing.OffsiteSigningOptions.KeyFileName), keyFile);
        return keyFile;
    }

    public static async Task<JsonElement> HealthAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/health");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }
}
