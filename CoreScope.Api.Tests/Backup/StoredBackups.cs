using System.Globalization;
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

    /// <summary>
    /// Writes a stored backup into <paramref name="folder"/> as a store of an earlier version wrote it (a manifest
    /// without <c>sequence</c>), dated <paramref name="createdAt"/>: what a clock that had jumped ahead, or a store
    /// restored from another machine, leaves behind. Its file is a copy of <paramref name="databasePath"/>. Returns its id.
    /// </summary>
    public static string PlantAsAnEarlierVersion(string folder, string databasePath, DateTime createdAt)
    {
        Directory.CreateDirectory(folder);
        var id = createdAt.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-f0f0f0";
        var fileName = $"corescope-backup-{id}.db";
        var file = Path.Combine(folder, fileName);
        File.Copy(databasePath, file);
        var manifest = new Dictionary<string, object?>
        {
            ["id"] = id, ["createdAt"] = createdAt, ["trigger"] = "schedule", ["method"] = "vacuum", ["compressed"] = false,
            ["sizeBytes"] = new FileInfo(file).Length, ["sha256"] = HashFile(file), ["durationMs"] = 1000, ["serverVersion"] = "0.9.0",
            ["schemaSteps"] = Array.Empty<string>(), ["rows"] = new Dictionary<string, long>(), ["integrity"] = "ok", ["integrityCheck"] = "quick",
            ["fileName"] = fileName, ["status"] = "ok", ["drill"] = null,
        };
        File.WriteAllText(Path.Combine(folder, $"corescope-backup-{id}.json"), JsonSerializer.Serialize(manifest));
        return id;
    }

    public static string HashFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
