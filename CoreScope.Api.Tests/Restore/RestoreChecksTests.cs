using System.Security.Cryptography;
using System.Text;

namespace CoreScope.Api.Tests.Restore;

/// <summary>
/// docs/restore.md, "Checks before anything changes": every bad upload gets its own 4xx and reason, and the live
/// database, the safety-copy folder and the staging folder are as they were.
/// </summary>
public sealed class RestoreChecksTests : WorkspaceTests
{
    private CoreScopeApiFactory _factory = null!;
    private HttpClient _client = null!;
    private string _backup = null!;
    private SortedDictionary<string, List<string>> _before = null!;

    private string SafetyCopyFolder => Path.Combine(Path.GetDirectoryName(Workspace.DatabasePath)!, "backups");

    // The folder itself is the backup store's too, which makes it at start: what matters is that no safety copy is in it.
    private string[] SafetyCopies() =>
        RestoreFiles.SafetyCopies(SafetyCopyFolder);

    [SetUp]
    public async Task StartServer()
    {
        await TestDatabase.CreateAsync(Workspace.DatabasePath);
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 150);
        _factory = new CoreScopeApiFactory(Workspace, CoreScopeApiFactory.StrongApiKey, new Dictionary<string, string?>
        {
            ["CoreScope:Restore:MaxUploadMB"] = "2",
            ["CoreScope:Restore:MaxDatabaseMB"] = "4",
        });
        _factory.StartKestrel();
        _client = _factory.CreateClient(CoreScopeApiFactory.StrongApiKey);
        _backup = await RestoreFiles.DownloadBackupAsync(_client, Path.Combine(Workspace.DownloadDirectory, "backup.db"));

        // Written after the backup: a restore that slipped through would remove these rows.
        TestDatabase.Populate(Workspace.DatabasePath, transmissions: 20);
        _before = DatabaseContent.Read(Workspace.DatabasePath);
    }

    [TearDown]
    public async Task StopServer()
    {
        _client?.Dispose();
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }

    [Test]
    public async Task Truncated_Is422()
    {
        var bytes = await File.ReadAllBytesAsync(_backup);
        await AssertRefusedAsync(bytes[..(bytes.Length / 2)], HttpStatusCode.UnprocessableEntity, "truncated");
    }

    [Test]
    public async Task NotSqlite_Is422()
    {
        await AssertRefusedAsync(Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("id,amount\n1,12.50\n", 400))),
            HttpStatusCode.UnprocessableEntity, "not a SQLite database");
    }

    [Test]
    public async Task ACorruptPage_Is422()
    {
        var corrupt = RestoreFiles.CorruptPage(_backup, Path.Combine(Workspace.DownloadDirectory, "corrupt.db"));
        var problem = await AssertRefusedAsync(await File.ReadAllBytesAsync(corrupt), HttpStatusCode.UnprocessableEntity, "");
        problem.Should().MatchRegex("integrity_check|damaged");
    }

    [Test]
    public async Task AForeignSchema_Is422()
    {
        var foreign = RestoreFiles.Foreign(Path.Combine(Workspace.DownloadDirectory, "invoices.db"));
        await AssertRefusedAsync(await File.ReadAllBytesAsync(foreign), HttpStatusCode.UnprocessableEntity, "not a CoreScope one");
    }

    [Test]
    public async Task ANewerSchema_Is409()
    {
        var newer = RestoreFiles.Newer(_backup, Path.Combine(Workspace.DownloadDirectory, "newer.db"));
        var problem = await AssertRefusedAsync(await File.ReadAllBytesAsync(newer), HttpStatusCode.Conflict, "newer version");
        problem.Should().Contain("corescope_from_the_future_v9");
    }

    [Test]
    public async Task AGzipBomb_Is413AsSoonAsItUnpacksPastTheCap()
    {
        // 256 MB of zeros is about 250 KB of gzip: under the 2 MB upload cap, far over the 4 MB database cap.
        var bomb = await RestoreFiles.GzipAsync(new byte[256 * 1024 * 1024], System.IO.Compression.CompressionLevel.SmallestSize);
        bomb.Length.Should().BeLessThan(1024 * 1024);
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();

        var problem = await AssertRefusedAsync(bomb, HttpStatusCode.RequestEntityTooLarge, "unpacks to more than 4 MB", "application/gzip");

        problem.Should().Contain("MaxDatabaseMB");
        stopwatch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(5), "unpacking stops at the cap, not after 256 MB");
    }

    [Test]
    public async Task InvalidGzip_Is422()
    {
        var bytes = new byte[] { 0x1f, 0x8b, 0x08, 0x00 }.Concat(RandomNumberGenerator.GetBytes(4000)).ToArray();
        await AssertRefusedAsync(bytes, HttpStatusCode.UnprocessableEntity, "not valid gzip", "application/gzip");
    }

    [Test]
    public async Task AWrongDigest_Is400()
    {
        var wrong = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("something else")));
        await AssertRefusedAsync(await File.ReadAllBytesAsync(_backup), HttpStatusCode.BadRequest, "differs from the digest sent with the request",
            configure: request => request.Headers.Add("X-Backup-SHA256", wrong));
    }

    [Test]
    public async Task AWrongReprDigest_Is400()
    {
        var wrong = Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes("something else")));
        await AssertRefusedAsync(await File.ReadAllBytesAsync(_backup), HttpStatusCode.BadRequest, "differs from the digest",
            configure: request => request.Headers.TryAddWithoutValidation("Repr-Digest", $"sha-256=:{wrong}:"));
    }

    [Test]
    public async Task AMalformedDigest_Is400()
    {
        await AssertRefusedAsync(await File.ReadAllBytesAsync(_backup), HttpStatusCode.BadRequest, "64 hex digits",
            configure: request => request.Headers.Add("X-Backup-SHA256", "abc"));
    }

    [Test]
    public async Task OverTheSizeCap_Is413()
    {
        var big = RandomNumberGenerator.GetBytes(3 * 1024 * 1024);
        await AssertRefusedAsync(big, HttpStatusCode.RequestEntityTooLarge, "larger than 2 MB");
    }

    [Test]
    public async Task AnEmptyBody_Is400()
    {
        await AssertRefusedAsync([], HttpStatusCode.BadRequest, "body is empty");
    }

    [Test]
    public async Task AForm_Is400()
    {
        await AssertRefusedAsync(await File.ReadAllBytesAsync(_backup), HttpStatusCode.BadRequest, "not a form", "multipart/form-data; boundary=x");
    }

    private string Downloaded(string name) => Path.Combine(Workspace.DownloadDirectory, name);

    private async Task<string> AssertFileRefusedAsync(string file, string reason) =>
        await AssertRefusedAsync(await File.ReadAllBytesAsync(file), HttpStatusCode.UnprocessableEntity, reason);

    // What the issue saw after such a restore was let through: every ingest a 500. Refused, ingest still works.
    private async Task AssertIngestStillWorksAsync()
    {
        using var response = await RestoreFiles.IngestAsync(_client);
        response.StatusCode.Should().Be(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task AUtf16Database_Is422_NamingBothEncodings()
    {
        var utf16 = await RestoreFiles.Utf16Async(Downloaded("utf16.db"));

        var error = await AssertFileRefusedAsync(utf16, "text encoding is UTF-16le");

        error.Should().Contain("the live database's is UTF-8");
        await AssertIngestStillWorksAsync();
    }

    [Test]
    public async Task CoreScopeTablesWithoutTheirColumns_Are422_NamingEachTableAndWhatItLacks()
    {
        // Every step recorded, so no schema step would add a column: today's checks saw only the table names.
        var lookalike = Downloaded("lookalike.db");
        using (var connection = TestDatabase.Open(lookalike))
        {
            connection.Execute("""
                CREATE TABLE transmissions (x); CREATE TABLE observations (x); CREATE TABLE nodes (x); CREATE TABLE observers (x);
                CREATE TABLE _migrations (name TEXT PRIMARY KEY);
                INSERT INTO _migrations (name) VALUES ('corescope_nodes_v1'), ('corescope_observers_v1'), ('corescope_transmissions_v1'),
                    ('corescope_observations_v1'), ('corescope_metrics_and_drops_v1'), ('corescope_packets_view_v1');
                """);
        }

        var error = await AssertFileRefusedAsync(lookalike, "not as this server reads and writes them");

        error.Should().Contain("transmissions has no id, raw_hex, hash, first_seen columns")
            .And.Contain("observations has no id, transmission_id, timestamp columns")
            .And.Contain("nodes has no public_key column")
            .And.Contain("observers has no id column");
    }

    [Test]
    public async Task CoreScopeTablesLackingColumnsTheirRecordedStepsAdd_Are422_NamingThem()
    {
        // The keys are there, so the first look passes; _migrations says the step ran, so nothing adds snr and rssi.
        var thin = RestoreFiles.Edited(_backup, Downloaded("thin.db"),
            "DROP VIEW packets_v; ALTER TABLE observations DROP COLUMN snr; ALTER TABLE observations DROP COLUMN rssi;");

        var error = await AssertFileRefusedAsync(thin, "observations has no snr, rssi columns");

        error.Should().Contain("even after its schema steps");
    }

    [Test]
    public async Task ObserversWithoutRowid_Are422_NamingTheTable()
    {
        // The same columns, keyed by id alone: observations point at observers by rowid, and ingest asks for it.
        var withoutRowid = RestoreFiles.Edited(_backup, Downloaded("without-rowid.db"), """
            PRAGMA legacy_alter_table = ON;
            ALTER TABLE observers RENAME TO observers_old;
            CREATE TABLE observers (
                id TEXT PRIMARY KEY, name TEXT, iata TEXT, last_seen TEXT, first_seen TEXT, packet_count INTEGER DEFAULT 0, model TEXT,
                firmware TEXT, client_version TEXT, radio TEXT, battery_mv INTEGER, uptime_secs INTEGER, noise_floor REAL, inactive INTEGER DEFAULT 0
            ) WITHOUT ROWID;
            INSERT INTO observers SELECT * FROM observers_old;
            DROP TABLE observers_old;
            CREATE INDEX idx_observers_last_seen ON observers(last_seen);
            """);

        var error = await AssertFileRefusedAsync(withoutRowid, "observers is a WITHOUT ROWID table");

        error.Should().NotContain("transmissions is");
        await AssertIngestStillWorksAsync();
    }

    [Test]
    public async Task SequencesAtTheirEnd_Are422_NamingTheTable()
    {
        var ended = RestoreFiles.Edited(_backup, Downloaded("ended.db"),
            "UPDATE sqlite_sequence SET seq = 9223372036854775807 WHERE name = 'transmissions';");

        var error = await AssertFileRefusedAsync(ended, "The ids of transmissions are at their end (9223372036854775807)");

        error.Should().Contain("every ingest would fail");
    }

    [Test]
    public async Task ACheckNoIngestMeets_Is422_WithSQLitesReason()
    {
        // Every stored row meets it (integrity_check passes); the next id an ingest takes does not.
        long last;
        using (var connection = TestDatabase.Open(_backup, readOnly: true))
        {
            last = connection.ExecuteScalar<long>("SELECT MAX(id) FROM transmissions");
        }

        var checkedFile = RestoreFiles.Edited(_backup, Downloaded("check.db"),
            $"UPDATE sqlite_master SET sql = replace(sql, 'channel_hash TEXT DEFAULT NULL', 'channel_hash TEXT DEFAULT NULL, CHECK (id <= {last})') WHERE name = 'transmissions';",
            writableSchema: true);
        TestDatabase.IntegrityCheck(checkedFile).Should().Be("ok");

        var error = await AssertFileRefusedAsync(checkedFile, "Every ingest into this database would fail: adding a transmission was refused by SQLite");

        error.Should().Contain("CHECK constraint failed");
    }

    [Test]
    public async Task TriggersTheLiveDatabaseDoesNotHave_Are422_NamingThem_AndNoneRan()
    {
        var triggered = RestoreFiles.Edited(_backup, Downloaded("triggers.db"), RestoreFiles.ForeignTriggersSql);

        var error = await AssertFileRefusedAsync(triggered, "triggers the live database does not have: fail_schema_step on _migrations, mark_ingest on observations");

        error.Should().Contain("?dropTriggers=true").And.NotContain("the foreign trigger ran");
        await AssertIngestStillWorksAsync();
        RestoreFiles.Markers(Workspace.DatabasePath).Should().Be(0);
        RestoreFiles.Triggers(Workspace.DatabasePath).Should().BeEmpty();
    }

    [Test]
    public async Task AMigrationsTableWithoutANameColumn_Is422()
    {
        var odd = RestoreFiles.Edited(_backup, Downloaded("migrations.db"),
            "DROP TABLE _migrations; CREATE TABLE _migrations (id INTEGER PRIMARY KEY, step TEXT); INSERT INTO _migrations (step) VALUES ('corescope_nodes_v1');");

        await AssertFileRefusedAsync(odd, "_migrations table has no name column");
    }

    [Test]
    public async Task AMigrationsRowWhoseNameIsNotText_Is422()
    {
        var odd = RestoreFiles.Edited(_backup, Downloaded("migrations.db"), "INSERT INTO _migrations (name) VALUES (X'DEADBEEF'), (NULL);");

        await AssertFileRefusedAsync(odd, "_migrations table has 2 row(s) whose name is not text");
    }

    [Test]
    public async Task AMigrationsTableWithHugeNames_Is409_WithTheNamesCutShort()
    {
        var huge = new string('x', 100_000);
        var odd = RestoreFiles.Edited(_backup, Downloaded("migrations.db"),
            string.Concat(Enumerable.Range(0, 8).Select(index => $"INSERT INTO _migrations (name) VALUES ('{index}{huge}');")));

        var error = await AssertRefusedAsync(await File.ReadAllBytesAsync(odd), HttpStatusCode.Conflict, "(and 3 more)");

        error.Length.Should().BeLessThan(1000);
    }

    [Test]
    public async Task ASchemaStepThatFails_Is422_NamingTheStepAndSQLitesReason()
    {
        // The nodes step has to run again, and its index name is taken by a table.
        var clash = RestoreFiles.Edited(_backup, Downloaded("clash.db"), """
            DELETE FROM _migrations WHERE name = 'corescope_nodes_v1';
            DROP INDEX idx_nodes_last_seen;
            CREATE TABLE idx_nodes_last_seen (x);
            """);

        var error = await AssertFileRefusedAsync(clash, "The schema step corescope_nodes_v1 failed");

        error.Should().Contain("already a table named idx_nodes_last_seen");
    }

    [Test]
    public async Task AVirtualTableOfAnUnknownModule_Is422_NamingIt()
    {
        var virtualTable = RestoreFiles.Edited(_backup, Downloaded("virtual.db"),
            "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES ('table', 'mesh_search', 'mesh_search', 0, 'CREATE VIRTUAL TABLE mesh_search USING meshindex(name)');",
            writableSchema: true);

        await AssertFileRefusedAsync(virtualTable, "virtual tables of modules this server does not know: mesh_search (module meshindex)");
    }

    [Test]
    public async Task AnExpressionThatFailsInIntegrityCheck_Is422_NotA500()
    {
        // An index on abs(x) over the one value abs() cannot take: integrity_check computes it and SQLite stops with an error.
        var overflow = RestoreFiles.Edited(_backup, Downloaded("overflow.db"), """
            CREATE TABLE readings (x INTEGER);
            INSERT INTO readings (x) VALUES (-9223372036854775808);
            CREATE INDEX idx_readings ON readings (x);
            PRAGMA writable_schema = ON;
            UPDATE sqlite_master SET sql = 'CREATE INDEX idx_readings ON readings (abs(x))' WHERE name = 'idx_readings';
            PRAGMA writable_schema = OFF;
            """);

        var error = await AssertFileRefusedAsync(overflow, "SQLite reported an error while the file was checked");

        error.Should().Contain("integer overflow");
    }

    private async Task<string> AssertRefusedAsync(
        byte[] body, HttpStatusCode status, string reason, string contentType = "application/octet-stream", Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/admin/restore") { Content = RestoreFiles.Body(body, contentType) };
        configure?.Invoke(request);
        using var response = await _client.SendAsync(request);

        var problem = await RestoreFiles.ReadJsonAsync(response, status);
        response.Content.Headers.ContentType!.MediaType.Should().Be("application/problem+json");
        var error = problem.GetProperty("error").GetString()!;
        if (reason.Length > 0)
        {
            error.Should().Contain(reason);
        }

        DatabaseContent.Read(Workspace.DatabasePath).Should().BeEquivalentTo(_before, options => options.WithStrictOrdering(), "a refused restore changes nothing");
        DatabaseContent.HeaderVersionBytes(Workspace.DatabasePath).Should().Be(((byte)2, (byte)2));
        SafetyCopies().Should().BeEmpty("nothing is copied before every check passed");
        await Eventually.EmptyAsync(Workspace.BackupTempDirectory);
        return error;
    }
}
