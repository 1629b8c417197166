using System.Security.Cryptography;

namespace CoreScope.Api.Tests.Backup;

/// <summary>What the store tests do over and over: store a backup, list them, read a manifest, hash a file.</summary>
public static class StoredBackups
{
    public static async Task<JsonElement> StoreAsync(HttpClient client, string query = "")
    {
        using var response = await client.PostAsync("/api/backups" + query, null);
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.Created, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static async Task<JsonElement> ListAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/api/backups");
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(HttpStatusCode.OK, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static async Task<List<string>> IdsAsync(HttpClient client) =>
        (await ListAsync(client)).GetProperty("backups").EnumerateArray().Select(backup => backup.GetProperty("id").GetString()!).ToList();

    public static string Id(this JsonElement manifest) => manifest.GetProperty("id").GetString()!;

    public static string Sha256(this JsonElement manifest) => manifest.GetProperty("sha256").GetString()!;

    /// <summary>The store folder when CoreScope:Backup:Store:Directory is not set: <c>backups</c> beside the database.</summary>
    public static string DefaultFolder(string databasePath) => Path.Combine(Path.GetDirectoryName(databasePath)!, "backups");

    public static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
