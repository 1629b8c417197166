using System.Buffers.Binary;
using System.Data.SQLite;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using CoreScope.Data.Backup;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using CoreScope.Data.Packets;
using CoreScope.Data.Schema;
using Dapper;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Restore;

/// <summary>What the checks found and did to the staging copy.</summary>
/// <param name="Rows">Every table's rows, after the copy was brought to the current schema.</param>
/// <param name="SchemaStepsApplied">The schema steps the copy lacked and was given.</param>
/// <param name="PageSizeRebuiltFrom">The copy's page size when it had to be rebuilt to the live one; null when they matched.</param>
/// <param name="TriggersDropped">The triggers the live database does not have, dropped from the copy as asked.</param>
public sealed record CheckedDatabase(
    SortedDictionary<string, long> Rows, IReadOnlyList<string> SchemaStepsApplied, int? PageSizeRebuiltFrom, IReadOnlyList<string> TriggersDropped);

/// <summary>What the checks compare a staged file with: the live database's text encoding and its triggers (name → SQL).</summary>
public sealed record LiveSchema(string Encoding, IReadOnlyDictionary<string, string?> Triggers);

/// <summary>
/// The checks a staged database passes before anything live changes, in the order that fails cheapest first: the
/// header (SQLite's magic, a length that matches the header's page count), what its schema holds (text encoding,
/// virtual tables, triggers), <c>integrity_check</c>, the CoreScope tables and their columns, <c>_migrations</c> and
/// schema steps not newer than ours. Then the staging copy is made fit to go live: rebuilt to the live page size (the
/// backup API refuses to copy into a WAL database across page sizes: "attempt to write a readonly database") and
/// brought to the current schema, so the live database never runs on an old one; last, every write an ingest makes is
/// tried on it and rolled back, so a file every ingest would fail on is refused here rather than after it went live.
/// </summary>
/// <remarks>
/// Nothing in a staged file's schema runs before it is accepted: every connection to it comes from
/// <see cref="OpenStagedAsync"/>. Any SQLite error while it is checked is the file's fault and a 422, never a 500.
/// </remarks>
public sealed class RestoreChecks(SqliteConnectionFactory connectionFactory, SchemaMigrator schemaMigrator, IOptions<RestoreOptions> options)
{
    private static readonly byte[] SqliteMagic = Encoding.ASCII.GetBytes("SQLite format 3\0");

    // The staging copy is a scratch file swept after a crash: a rollback journal (so its page size can change) and no
    // fsyncs while it is rebuilt and migrated. Reading it through a memory map spared integrity_check the 5 s of
    // system time its reads cost on the 1 GB bench database (sqlite3 CLI: sys 5.2 s -> 0.1 s). trusted_schema off: a
    // function that is not innocuous may not run from the file's views, triggers, CHECKs or index expressions.
    private const string StagingConnectionSql =
        "PRAGMA trusted_schema = OFF; PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA mmap_size = 2147418112;";

    private const string IntegrityCheckSql = "PRAGMA integrity_check;";

    private const string QuickCheckSql = "PRAGMA quick_check;";

    private const string PageSizeSql = "PRAGMA page_size;";

    private const string EncodingSql = "PRAGMA encoding;";

    // VACUUM rewrites every page at the new size; a few seconds per GB, paid only when the sizes differ. {0} is the live
    // page size, an integer SQLite reported.
    private static readonly CompositeFormat RebuildToPageSizeSql = CompositeFormat.Parse("PRAGMA page_size = {0}; VACUUM;");

    private const int MostNamesListed = 5;

    private const int LongestNameShown = 64;

    /// <summary>
    /// Opens a staged (uploaded, not yet accepted) file so that nothing its schema holds runs: triggers and views are
    /// off, the schema is not trusted, and defensive mode keeps SQL from corrupting the file on purpose
    /// (<c>writable_schema</c>, <c>sqlite_dbpage</c>). Every check and the schema step use it.
    /// </summary>
    public async Task<SQLiteConnection> OpenStagedAsync(string file, CancellationToken cancellationToken)
    {
        var connection = await connectionFactory.OpenFileAsync(file, readOnly: false, cancellationToken);
        try
        {
            connection.SetConfigurationOption(SQLiteConfigDbOpsEnum.SQLITE_DBCONFIG_DEFENSIVE, true);
            connection.SetConfigurationOption(SQLiteConfigDbOpsEnum.SQLITE_DBCONFIG_TRUSTED_SCHEMA, false);
            connection.SetConfigurationOption(SQLiteConfigDbOpsEnum.SQLITE_DBCONFIG_ENABLE_TRIGGER, false);
            connection.SetConfigurationOption(SQLiteConfigDbOpsEnum.SQLITE_DBCONFIG_ENABLE_VIEW, false);
            await connection.ExecuteAsync(new CommandDefinition(StagingConnectionSql, cancellationToken: cancellationToken));
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private const string TriggersSql = "SELECT name AS Name, tbl_name AS TableName, sql AS Sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name;";

    /// <summary>
    /// The live database's encoding and triggers, what a staged file is compared with; null when there is no live file
    /// or SQLite cannot read it (the offline command's case).
    /// </summary>
    public async Task<LiveSchema?> ReadLiveSchemaAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(connectionFactory.DatabasePath))
        {
            return null;
        }

        try
        {
            await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
            var encoding = await connection.ExecuteScalarAsync<string>(new CommandDefinition(EncodingSql, cancellationToken: cancellationToken));
            var triggers = (await connection.QueryAsync<Trigger>(new CommandDefinition(TriggersSql, cancellationToken: cancellationToken)))
                .ToDictionary(trigger => trigger.Name, trigger => trigger.Sql, StringComparer.OrdinalIgnoreCase);
            return new LiveSchema(encoding ?? "UTF-8", triggers);
        }
        catch (SQLiteException exception) when (exception.ResultCode is SQLiteErrorCode.NotADb or SQLiteErrorCode.Corrupt)
        {
            return null;
        }
    }

    /// <summary>
    /// Checks <paramref name="file"/> and makes it fit to go live. <paramref name="live"/> is what it must match (null:
    /// no live database, so it has no triggers to keep); <paramref name="rebuildToPageSize"/> the live page size the copy
    /// is rebuilt to (null: never, as for a drill's scratch copy); <paramref name="dropTriggers"/> drops the triggers the
    /// live database does not have instead of refusing the file.
    /// </summary>
    public async Task<CheckedDatabase> CheckAsync(
        string file, LiveSchema? live, int? rebuildToPageSize, bool dropTriggers, CancellationToken cancellationToken)
    {
        await CheckHeaderAsync(file, cancellationToken);
        try
        {
            await using var connection = await OpenStagedAsync(file, cancellationToken);
            await CheckEncodingAsync(connection, live, cancellationToken);
            await CheckVirtualTablesAsync(connection, cancellationToken);
            var dropped = await CheckTriggersAsync(connection, live, dropTriggers, cancellationToken);
            await CheckIntegrityAsync(connection, options.Value.IntegrityCheck, cancellationToken);
            var tables = await DatabaseFacts.TablesAsync(connection, cancellationToken);
            var missing = DatabaseFacts.RequiredTables.Where(table => !tables.Contains(table, StringComparer.Ordinal)).ToList();
            if (missing.Count > 0)
            {
                throw new RestoreFailedException(RestoreFailure.Unusable,
                    $"The file is a SQLite database but not a CoreScope one: it has no {string.Join(", ", missing)} table(s). " +
                    "Send a backup of this server or of the original CoreScope.");
            }

            await CheckCoreTablesAsync(connection, SchemaMigrator.KeyColumns, afterSchemaSteps: false, cancellationToken);
            var steps = await ReadSchemaStepsAsync(connection, tables, cancellationToken);
            var unknownSteps = steps.Except(schemaMigrator.StepNames, StringComparer.Ordinal).ToList();
            if (unknownSteps.Count > 0)
            {
                throw new RestoreFailedException(RestoreFailure.NewerSchema,
                    $"The database was made by a newer version of this server: it has schema steps this one does not know " +
                    $"({Names(unknownSteps)}). Restore it with that version or newer.");
            }

            var pageSize = await connection.ExecuteScalarAsync<int>(new CommandDefinition(PageSizeSql, cancellationToken: cancellationToken));
            int? rebuiltFrom = null;
            if (rebuildToPageSize is { } target && target != pageSize)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    string.Format(CultureInfo.InvariantCulture, RebuildToPageSizeSql, target), cancellationToken: cancellationToken, commandTimeout: 0));
                rebuiltFrom = pageSize;
            }

            IReadOnlyList<string> applied;
            try
            {
                applied = await schemaMigrator.ApplyAsync(connection, cancellationToken);
            }
            catch (SchemaStepFailedException exception)
            {
                throw new RestoreFailedException(RestoreFailure.Unusable,
                    $"The file could not be brought to this server's schema: {exception.Message} Nothing was changed; " +
                    "send a backup whose tables and indexes are CoreScope's.", exception);
            }

            await CheckCoreTablesAsync(connection, SchemaMigrator.RequiredColumns, afterSchemaSteps: true, cancellationToken);
            await CheckSequencesAsync(connection, cancellationToken);
            await TryIngestAsync(connection, file, cancellationToken);
            var rows = await DatabaseFacts.CountRowsAsync(connection, cancellationToken);
            return new CheckedDatabase(rows, applied, rebuiltFrom, dropped);
        }
        catch (SQLiteException exception) when (exception.ResultCode == SQLiteErrorCode.Interrupt && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The restore was cancelled during its checks.", exception, cancellationToken);
        }
        catch (SQLiteException exception) when (exception.ResultCode is SQLiteErrorCode.NotADb or SQLiteErrorCode.Corrupt)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"SQLite cannot read the file: it reports it {(exception.ResultCode == SQLiteErrorCode.NotADb ? "not a database" : "damaged")} " +
                $"({exception.ResultCode}). Send an intact backup.", exception);
        }
        catch (SQLiteException exception) when (IsDiskFull(exception, file))
        {
            throw new RestoreFailedException(RestoreFailure.InsufficientStorage,
                "The backup temp folder's disk filled up while the staged copy was checked; nothing was changed. " +
                "Free some space or point CoreScope:Backup:TempDirectory at a larger disk.", exception);
        }
        catch (SQLiteException exception) when (exception.ResultCode != SQLiteErrorCode.Interrupt)
        {
            // Whatever else SQLite says while it reads a file we were sent (a function failing in an index expression, a
            // table it cannot parse) is about the file.
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"SQLite reported an error while the file was checked, so nothing was changed: {Message(exception)}. Send an intact CoreScope backup.",
                exception);
        }
    }

    // The live connections have the live file's encoding; after a copy in, SQLite refuses every statement on a file in
    // another one ("attached databases must use the same text encoding as main database").
    private static async Task CheckEncodingAsync(SQLiteConnection connection, LiveSchema? live, CancellationToken cancellationToken)
    {
        var encoding = await connection.ExecuteScalarAsync<string>(new CommandDefinition(EncodingSql, cancellationToken: cancellationToken));
        if (live is not null && !string.Equals(encoding, live.Encoding, StringComparison.OrdinalIgnoreCase))
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The file's text encoding is {encoding}, the live database's is {live.Encoding}; SQLite cannot copy one into the other " +
                "and keep serving. Nothing was changed. Convert it first (sqlite3 file.db .dump into a new database of the live encoding) or " +
                "send a backup of this server.");
        }
    }

    // The modules e_sqlite3 is built with. A module this engine lacks would fail every read of its table; one registered
    // by another program runs that program's code, which we do not have.
    private static readonly string[] KnownModules = ["fts3", "fts4", "fts5", "rtree", "rtree_i32"];

    private static readonly Regex VirtualTableModule = new(
        @"^\s*CREATE\s+VIRTUAL\s+TABLE\s+.+?\s+USING\s+[""'`\[]?(?<module>[^\s(""'`\]]+)",
        RegexOptions.IgnoreCase | RegexOptions.Singleline | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    private const string VirtualTablesSql = "SELECT name AS Name, sql AS Sql FROM sqlite_master WHERE type = 'table' AND sql LIKE 'CREATE VIRTUAL TABLE%';";

    private sealed record VirtualTable(string Name, string Sql);

    private static async Task CheckVirtualTablesAsync(SQLiteConnection connection, CancellationToken cancellationToken)
    {
        var unknown = (await connection.QueryAsync<VirtualTable>(new CommandDefinition(VirtualTablesSql, cancellationToken: cancellationToken)))
            .Select(table => (table.Name, Module: VirtualTableModule.Match(table.Sql) is { Success: true } match ? match.Groups["module"].Value : "?"))
            .Where(table => !KnownModules.Contains(table.Module, StringComparer.OrdinalIgnoreCase))
            .ToList();
        if (unknown.Count > 0)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The file has virtual tables of modules this server does not know: {Names(unknown.Select(table => $"{Cut(table.Name)} (module {Cut(table.Module)})"), cut: false)}. " +
                "Nothing was changed; drop them from the file (DROP TABLE in the program that made them) and send it again.");
        }
    }

    private sealed record Trigger(string Name, string TableName, string? Sql);

    // A trigger runs on every write to its table: in the schema step of this restore and on every ingest after it. One
    // the live database has is the operator's; any other is refused, or dropped from the copy when asked.
    private static async Task<IReadOnlyList<string>> CheckTriggersAsync(
        SQLiteConnection connection, LiveSchema? live, bool dropTriggers, CancellationToken cancellationToken)
    {
        var foreign = (await connection.QueryAsync<Trigger>(new CommandDefinition(TriggersSql, cancellationToken: cancellationToken)))
            .Where(trigger => live is null || !live.Triggers.TryGetValue(trigger.Name, out var sql) || !string.Equals(sql, trigger.Sql, StringComparison.Ordinal))
            .ToList();
        if (foreign.Count == 0)
        {
            return [];
        }

        if (!dropTriggers)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The file has triggers the live database does not have: {Names(foreign.Select(trigger => $"{Cut(trigger.Name)} on {Cut(trigger.TableName)}"), cut: false)}. " +
                "A trigger runs SQL on every write to its table, ingest included; nothing was changed and none of them ran. Restore with " +
                "?dropTriggers=true (offline: --drop-triggers) to drop them from the restored copy.");
        }

        foreach (var trigger in foreign)
        {
            // The name comes from the file's sqlite_master: quoted, with quotes doubled.
            await connection.ExecuteAsync(new CommandDefinition(
                $"DROP TRIGGER \"{trigger.Name.Replace("\"", "\"\"", StringComparison.Ordinal)}\";", cancellationToken: cancellationToken));
        }

        return foreign.Select(trigger => trigger.Name).ToList();
    }

    private const string ColumnsSql = "SELECT name FROM pragma_table_info(@table);";

    private const string TableKindSql = "SELECT type AS Type, wr AS WithoutRowid FROM pragma_table_list WHERE schema = 'main' AND name = @table;";

    private sealed class TableKind
    {
        public string Type { get; init; } = "";

        public long WithoutRowid { get; init; }
    }

    // observations.observer_idx holds an observer's rowid, and ingest reads the rowid of each row it adds.
    private static readonly string[] TablesReadByRowid = ["observers", "transmissions", "observations"];

    private static async Task CheckCoreTablesAsync(
        SQLiteConnection connection, IReadOnlyDictionary<string, IReadOnlyList<string>> columns, bool afterSchemaSteps, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        foreach (var (table, required) in columns)
        {
            var kind = await connection.QuerySingleOrDefaultAsync<TableKind>(new CommandDefinition(TableKindSql, new { table }, cancellationToken: cancellationToken));
            if (kind is { Type: not "table" })
            {
                problems.Add($"{table} is a {kind.Type}, not a table");
                continue;
            }

            if (kind is { WithoutRowid: not 0 } && TablesReadByRowid.Contains(table, StringComparer.Ordinal))
            {
                problems.Add($"{table} is a WITHOUT ROWID table, and the server reads its rows by rowid");
            }

            var existing = (await connection.QueryAsync<string>(new CommandDefinition(ColumnsSql, new { table }, cancellationToken: cancellationToken)))
                .ToHashSet(StringComparer.OrdinalIgnoreCase);
            var missing = required.Where(column => !existing.Contains(column)).ToList();
            if (missing.Count > 0)
            {
                problems.Add($"{table} has no {string.Join(", ", missing)} column{(missing.Count == 1 ? "" : "s")}");
            }
        }

        if (problems.Count > 0)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                "The file has CoreScope's tables but not as this server reads and writes them: " + string.Join("; ", problems) +
                (afterSchemaSteps ? " (even after its schema steps: its _migrations records steps whose columns are not there)" : "") +
                ". Nothing was changed; send a backup of this server or of the original CoreScope.");
        }
    }

    private const string MigrationsNotTextSql = "SELECT COUNT(*) FROM _migrations WHERE typeof(name) <> 'text';";

    private const string MigrationNamesSql = "SELECT name FROM _migrations ORDER BY name;";

    // The schema steps recorded in _migrations, read as the schema step reads them: a name column of text.
    private static async Task<List<string>> ReadSchemaStepsAsync(SQLiteConnection connection, List<string> tables, CancellationToken cancellationToken)
    {
        if (!tables.Contains("_migrations", StringComparer.Ordinal))
        {
            return [];
        }

        var columns = await connection.QueryAsync<string>(new CommandDefinition(ColumnsSql, new { table = "_migrations" }, cancellationToken: cancellationToken));
        if (!columns.Contains("name", StringComparer.OrdinalIgnoreCase))
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                "The file's _migrations table has no name column, so its schema steps cannot be read. Nothing was changed; " +
                "send a backup of this server or of the original CoreScope.");
        }

        var notText = await connection.ExecuteScalarAsync<long>(new CommandDefinition(MigrationsNotTextSql, cancellationToken: cancellationToken));
        if (notText > 0)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The file's _migrations table has {notText} row(s) whose name is not text, so its schema steps cannot be read. " +
                "Nothing was changed; send a backup of this server or of the original CoreScope.");
        }

        return (await connection.QueryAsync<string>(new CommandDefinition(MigrationNamesSql, cancellationToken: cancellationToken))).ToList();
    }

    private const string SequencesAtTheirEndSql = """
        SELECT name FROM sqlite_sequence WHERE seq >= 9223372036854775807 AND name IN ('transmissions', 'observations')
        UNION SELECT 'transmissions' FROM transmissions WHERE rowid = 9223372036854775807
        UNION SELECT 'observations' FROM observations WHERE rowid = 9223372036854775807;
        """;

    private static async Task CheckSequencesAsync(SQLiteConnection connection, CancellationToken cancellationToken)
    {
        // AUTOINCREMENT never reuses an id: at the largest one SQLite refuses every insert ("database or disk is full").
        var ended = (await connection.QueryAsync<string>(new CommandDefinition(SequencesAtTheirEndSql, cancellationToken: cancellationToken))).ToList();
        if (ended.Count > 0)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The ids of {string.Join(" and ", ended)} are at their end (9223372036854775807): SQLite cannot add another row, so every " +
                "ingest would fail. Nothing was changed.");
        }
    }

    // Every write an ingest makes (PacketIngestService's own SQL, both sides of each upsert), tried on the checked copy
    // and rolled back: a CHECK, a missing unique key or a NOT NULL that every ingest would meet refuses the file here,
    // not on every POST /api/packets once it went live.
    private static async Task TryIngestAsync(SQLiteConnection connection, string file, CancellationToken cancellationToken)
    {
        var now = IsoTime.Format(DateTimeOffset.UtcNow);
        var marker = "corescope-restore-check-" + Guid.NewGuid().ToString("N");
        var hash = Guid.NewGuid().ToString("N")[..16];
        var write = "";
        try
        {
            using var transaction = connection.BeginTransaction();
            CommandDefinition Command(string sql, object parameters) => new(sql, parameters, transaction, cancellationToken: cancellationToken);

            write = "adding a transmission";
            var transmissionId = await connection.ExecuteScalarAsync<long>(Command(PacketIngestService.InsertTransmissionSql, new
            {
                rawHex = "0A00D69FD7A5A7475DB07337749AE61FA53A4788E976",
                hash,
                firstSeen = now,
                routeType = 2,
                payloadType = 2,
                payloadVersion = 0,
                decodedJson = """{"type":"TXT_MSG"}""",
                channelHash = (string?)null,
            }));
            long? observerIdx = null;
            foreach (var side in new[] { "adding an observer", "updating an observer" })
            {
                write = side;
                observerIdx = await connection.ExecuteScalarAsync<long>(Command(PacketIngestService.UpsertObserverSql, new { id = marker, iata = "SJC", now }));
            }

            write = "adding an observation";
            await connection.ExecuteScalarAsync<long>(Command(PacketIngestService.InsertObservationSql, new
            {
                transmissionId,
                observerIdx,
                snr = 5.5,
                rssi = -90.0,
                pathJson = "[]",
                timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                rawHex = (string?)null,
            }));
            foreach (var (side, increment) in new[] { ("adding a node", 1), ("updating a node", 0) })
            {
                write = side;
                await connection.ExecuteAsync(Command(PacketIngestService.UpsertNodeSql, new
                {
                    publicKey = marker + marker,
                    name = "restore check",
                    role = "repeater",
                    lat = 37.33,
                    lon = -121.89,
                    now,
                    increment,
                }));
            }

            transaction.Rollback();
        }
        catch (SQLiteException exception) when (exception.ResultCode != SQLiteErrorCode.Interrupt && !IsDiskFull(exception, file))
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"Every ingest into this database would fail: {write} was refused by SQLite ({Message(exception)}). Nothing was changed; " +
                "send a backup whose tables are CoreScope's.", exception);
        }
    }

    private static bool IsDiskFull(SQLiteException exception, string file) =>
        ((SQLiteErrorCode)((int)exception.ResultCode & 0xFF)) is SQLiteErrorCode.Full or SQLiteErrorCode.IoErr
        && DiskSpace.IsFull(Path.GetDirectoryName(Path.GetFullPath(file))!);

    // SQLite's message without System.Data.SQLite's line break between the code's name and the text.
    private static string Message(SQLiteException exception) => exception.Message.ReplaceLineEndings(" ").TrimEnd('.');

    // Names from a file we were sent: a few, each cut short, so a crafted file cannot fill the answer or the log.
    private static string Names(IEnumerable<string> names, bool cut = true)
    {
        var list = names.ToList();
        return string.Join(", ", list.Take(MostNamesListed).Select(name => cut ? Cut(name) : name)) +
            (list.Count > MostNamesListed ? $" (and {list.Count - MostNamesListed} more)" : "");
    }

    private static string Cut(string name) => name.Length <= LongestNameShown ? name : name[..LongestNameShown] + "…";

    private static async Task CheckIntegrityAsync(SQLiteConnection connection, RestoreCheck check, CancellationToken cancellationToken)
    {
        var sql = check == RestoreCheck.Quick ? QuickCheckSql : IntegrityCheckSql;

        // sqlite3_interrupt stops a long check when the client goes away.
        using var interrupt = cancellationToken.Register(connection.Cancel);
        var report = (await connection.QueryAsync<string>(
            new CommandDefinition(sql, cancellationToken: cancellationToken, commandTimeout: 0))).ToList();
        if (report is not ["ok"])
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The database failed {sql.TrimEnd(';')}, so nothing was changed: " + string.Join("; ", report.Take(5)) +
                (report.Count > 5 ? $" (and {report.Count - 5} more)" : "") + ". Send an intact backup.");
        }
    }

    // The file format (sqlite.org/fileformat.html): the magic in bytes 0-15, the page size in 16-17 (1 means 65536), and,
    // when bytes 92-95 equal the change counter in 24-27, the size in pages in 28-31. A file shorter than that size was
    // cut off in transit; saying so is clearer than the "malformed" SQLite would report later.
    private static async Task CheckHeaderAsync(string file, CancellationToken cancellationToken)
    {
        var header = new byte[100];
        long length;
        int read;
        await using (var stream = File.OpenRead(file))
        {
            length = stream.Length;
            read = await stream.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken);
        }

        if (read < SqliteMagic.Length || !header.AsSpan(0, SqliteMagic.Length).SequenceEqual(SqliteMagic))
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                "The file is not a SQLite database (it does not start with \"SQLite format 3\"). Send a .db or .db.gz backup.");
        }

        if (read < header.Length)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The database is truncated: {length} bytes, less than SQLite's 100-byte header. Send the whole file.");
        }

        var rawPageSize = BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(16));
        long pageSize = rawPageSize == 1 ? 65536 : rawPageSize;
        var changeCounter = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(24));
        var pages = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(28));
        var validFor = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(92));
        if (pageSize < 512 || (pageSize & (pageSize - 1)) != 0)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The database header is damaged: its page size ({pageSize}) is not one SQLite writes. Send an intact backup.");
        }

        if ((validFor == changeCounter && pages > 0 && length < pages * pageSize) || length % pageSize != 0)
        {
            throw new RestoreFailedException(RestoreFailure.Unusable,
                $"The database is truncated: {length} bytes, but its header says {pages} pages of {pageSize} bytes " +
                $"({pages * pageSize} bytes). Send the whole file.");
        }
    }
}
