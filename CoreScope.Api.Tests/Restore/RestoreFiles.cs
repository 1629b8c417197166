using System.Net.Http.Json;
using System.IO.Compression;
using System.Net.Http.Headers;

namespace CoreScope.Api.Tests.Restore;

/// <summary>Files a restore test sends: real backups from the server, and the damaged or foreign ones it must refuse.</summary>
public static class RestoreFiles
{
    /// <summary>The manifests of the safety copies in a store folder: the stored backups with trigger <c>pre-restore</c>.</summary>
    public static string[] SafetyCopies(string storeFolder) =>
        Directory.Exists(storeFolder)
            ? Directory.GetFiles(storeFolder, "corescope-backup-*.json")
                .Where(manifest => JsonDocument.Parse(File.ReadAllText(manifest)).RootElement.GetProperty("trigger").GetString() == "pre-restore")
                .ToArray()
            : [];

    /// <summary>A stored backup's (uncompressed) file in the store folder.</summary>
    public static string StoredFile(string storeFolder, string id) => Path.Combine(storeFolder, $"corescope-backup-{id}.db");

    /// <summary>A stored backup's manifest in the store folder.</summary>
    public static string StoredManifest(string storeFolder, string id) => Path.Combine(storeFolder, $"corescope-backup-{id}.json");

    /// <summary>Downloads a backup through GET /api/backup into <paramref name="path"/>.</summary>
    public static async Task<string> DownloadBackupAsync(HttpClient client, string path, string query = "")
    {
        using var response = await client.GetAsync("/api/backup" + query);
        response.EnsureSuccessStatusCode();
        await using (var file = File.Create(path))
        {
            await response.Content.CopyToAsync(file);
        }

        return path;
    }

    public static ByteArrayContent Body(byte[] bytes, string contentType = "application/octet-stream")
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        return content;
    }

    public static async Task<HttpResponseMessage> PostRestoreAsync(HttpClient client, string file, string query = "", Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/admin/restore" + query)
        {
            Content = Body(await File.ReadAllBytesAsync(file), file.EndsWith(".gz", StringComparison.Ordinal) ? "application/gzip" : "application/octet-stream"),
        };
        configure?.Invoke(request);
        return await client.SendAsync(request);
    }

    /// <summary>The answer's JSON; fails the test with the body when the status is not <paramref name="expected"/>.</summary>
    public static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response, System.Net.HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        response.StatusCode.Should().Be(expected, body);
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    public static async Task<byte[]> GzipAsync(byte[] bytes, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var output = new MemoryStream();
        await using (var gzip = new GZipStream(output, level, leaveOpen: true))
        {
            await gzip.WriteAsync(bytes);
        }

        return output.ToArray();
    }

    /// <summary>A CoreScope database copied from <paramref name="source"/> with one page in the middle overwritten by garbage.</summary>
    public static string CorruptPage(string source, string target)
    {
        File.Copy(source, target);
        using var connection = TestDatabase.Open(target);
        var pageSize = connection.ExecuteScalar<long>("PRAGMA page_size");
        var pages = connection.ExecuteScalar<long>("PRAGMA page_count");
        connection.Close();
        using var stream = new FileStream(target, FileMode.Open, FileAccess.Write);
        stream.Position = pageSize * (pages / 2);
        stream.Write(Enumerable.Range(0, (int)pageSize).Select(index => (byte)(index * 7 + 13)).ToArray());
        return target;
    }

    /// <summary>A SQLite database that is not CoreScope's.</summary>
    public static string Foreign(string path)
    {
        using var connection = TestDatabase.Open(path);
        connection.Execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, amount REAL); INSERT INTO invoices (amount) VALUES (12.5);");
        return path;
    }

    /// <summary>A copy of a CoreScope database as a newer server would leave it: a schema step this one does not know.</summary>
    public static string Newer(string source, string target)
    {
        File.Copy(source, target);
        using var connection = TestDatabase.Open(target);
        connection.Execute("INSERT INTO _migrations (name) VALUES ('corescope_from_the_future_v9')");
        return target;
    }

    /// <summary>
    /// A copy of <paramref name="source"/> at <paramref name="target"/> after <paramref name="sql"/>, as another tool might
    /// have left it; with <paramref name="writableSchema"/> the SQL edits <c>sqlite_master</c> itself.
    /// </summary>
    public static string Edited(string source, string target, string sql, bool writableSchema = false)
    {
        File.Copy(source, target);
        using var connection = TestDatabase.Open(target);
        connection.Execute(writableSchema ? $"PRAGMA writable_schema = ON; {sql} PRAGMA writable_schema = OFF;" : sql);
        return target;
    }

    /// <summary>A CoreScope database in UTF-16le, as a tool that set <c>PRAGMA encoding</c> on a new file might have made it.</summary>
    public static async Task<string> Utf16Async(string path)
    {
        using (var connection = TestDatabase.Open(path))
        {
            connection.Execute("PRAGMA encoding = 'UTF-16le';");
            await new CoreScope.Data.Schema.SchemaMigrator(Microsoft.Extensions.Logging.Abstractions.NullLogger<CoreScope.Data.Schema.SchemaMigrator>.Instance)
                .ApplyAsync(connection, CancellationToken.None);
        }

        TestDatabase.Populate(path, transmissions: 5);
        return path;
    }

    /// <summary>Posts <see cref="SamplePackets.Advert"/> as an observer reports it; the answer's status says whether ingest works.</summary>
    public static Task<HttpResponseMessage> IngestAsync(HttpClient client) =>
        client.PostAsJsonAsync("/api/packets", new { hex = SamplePackets.Advert, observer = "OBSERVER-AFTER-RESTORE", snr = 7.25, rssi = -98.0 });

    /// <summary>The live database's triggers, by name.</summary>
    public static List<string> Triggers(string database)
    {
        using var connection = TestDatabase.Open(database, readOnly: true);
        return connection.Query<string>("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").ToList();
    }

    /// <summary>
    /// Triggers that leave a trace if they ever run: one fails the schema step loudly (an insert into <c>_migrations</c>,
    /// which a restore makes when the file lacks a step), one writes a marker node on every observation an ingest adds.
    /// </summary>
    public const string ForeignTriggersSql = """
        CREATE TRIGGER fail_schema_step BEFORE INSERT ON _migrations BEGIN SELECT RAISE(ABORT, 'the foreign trigger ran'); END;
        CREATE TRIGGER mark_ingest AFTER INSERT ON observations BEGIN
            INSERT INTO nodes (public_key, name) VALUES ('marker-' || NEW.id, 'the foreign trigger ran');
        END;
        DELETE FROM _migrations WHERE name = 'corescope_packets_view_v1';
        """;

    /// <summary>The nodes a <see cref="ForeignTriggersSql"/> trigger wrote into <paramref name="database"/>.</summary>
    public static long Markers(string database)
    {
        using var connection = TestDatabase.Open(database, readOnly: true);
        return connection.ExecuteScalar<long>("SELECT COUNT(*) FROM nodes WHERE name = 'the foreign trigger ran'");
    }

    /// <summary>A copy of <paramref name="source"/> rebuilt to another page size, as another SQLite build might have written it.</summary>
    public static string WithPageSize(string source, string target, int pageSize)
    {
        File.Copy(source, target);
        using var connection = TestDatabase.Open(target);
        connection.Execute($"PRAGMA journal_mode = DELETE; PRAGMA page_size = {pageSize}; VACUUM;");
        connection.ExecuteScalar<long>("PRAGMA page_size").Should().Be(pageSize);
        return target;
    }

    /// <summary>
    /// A body that sends its first <paramref name="firstPart"/> bytes, then waits for <paramref name="release"/> before the
    /// rest: a restore whose upload is under way for as long as a test needs.
    /// </summary>
    public sealed class GatedContent(byte[] bytes, int firstPart, Task release) : HttpContent
    {
        public TaskCompletionSource FirstPartSent { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(bytes.AsMemory(0, firstPart));
            await stream.FlushAsync();
            FirstPartSent.TrySetResult();
            await release;
            await stream.WriteAsync(bytes.AsMemory(firstPart));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = bytes.Length;
            return true;
        }
    }
}
