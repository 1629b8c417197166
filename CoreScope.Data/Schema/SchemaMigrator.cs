using System.Data.SQLite;
using Dapper;
using Microsoft.Extensions.Logging;

namespace CoreScope.Data.Schema;

/// <summary>
/// Brings a database up to the CoreScope schema with named steps recorded in <c>_migrations</c>, as the original
/// CoreScope does. Every step only adds (tables, columns, indexes, views) and is safe to run again, so a
/// database written by the original, with its older and thinner schema, is upgraded without losing a row and
/// stays readable by the original.
/// </summary>
public sealed class SchemaMigrator(ILogger<SchemaMigrator> logger)
{
    private sealed record Step(string Name, Func<SQLiteConnection, SQLiteTransaction, Task> ApplyAsync);

    private const string CreateMigrationsTableSql = "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY);";
    private const string SelectAppliedSql = "SELECT name FROM _migrations;";
    private const string RecordStepSql = "INSERT OR IGNORE INTO _migrations (name) VALUES (@name);";

    private const string NodeColumns = """
        public_key TEXT PRIMARY KEY,
        name TEXT,
        role TEXT,
        lat REAL,
        lon REAL,
        last_seen TEXT,
        first_seen TEXT,
        advert_count INTEGER DEFAULT 0,
        battery_mv INTEGER,
        temperature_c REAL
        """;

    // Columns an older database may lack, with definitions ALTER TABLE ADD COLUMN accepts.
    private static readonly (string Name, string Definition)[] NodeAddedColumns =
    [
        ("name", "TEXT"),
        ("role", "TEXT"),
        ("lat", "REAL"),
        ("lon", "REAL"),
        ("last_seen", "TEXT"),
        ("first_seen", "TEXT"),
        ("advert_count", "INTEGER DEFAULT 0"),
        ("battery_mv", "INTEGER"),
        ("temperature_c", "REAL"),
    ];

    private const string NodesSql = $"""
        CREATE TABLE IF NOT EXISTS nodes ({NodeColumns});
        CREATE TABLE IF NOT EXISTS inactive_nodes ({NodeColumns});
        CREATE INDEX IF NOT EXISTS idx_nodes_last_seen ON nodes(last_seen);
        CREATE INDEX IF NOT EXISTS idx_inactive_nodes_last_seen ON inactive_nodes(last_seen);
        """;

    private const string ObserversSql = """
        CREATE TABLE IF NOT EXISTS observers (
            id TEXT PRIMARY KEY,
            name TEXT,
            iata TEXT,
            last_seen TEXT,
            first_seen TEXT,
            packet_count INTEGER DEFAULT 0,
            model TEXT,
            firmware TEXT,
            client_version TEXT,
            radio TEXT,
            battery_mv INTEGER,
            uptime_secs INTEGER,
            noise_floor REAL,
            inactive INTEGER DEFAULT 0
        );
        """;

    private const string ObserversIndexSql = "CREATE INDEX IF NOT EXISTS idx_observers_last_seen ON observers(last_seen);";

    private static readonly (string Name, string Definition)[] ObserverAddedColumns =
    [
        ("name", "TEXT"),
        ("iata", "TEXT"),
        ("last_seen", "TEXT"),
        ("first_seen", "TEXT"),
        ("packet_count", "INTEGER DEFAULT 0"),
        ("model", "TEXT"),
        ("firmware", "TEXT"),
        ("client_version", "TEXT"),
        ("radio", "TEXT"),
        ("battery_mv", "INTEGER"),
        ("uptime_secs", "INTEGER"),
        ("noise_floor", "REAL"),
        ("inactive", "INTEGER DEFAULT 0"),
    ];

    private const string TransmissionsSql = """
        CREATE TABLE IF NOT EXISTS transmissions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            raw_hex TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE,
            first_seen TEXT NOT NULL,
            route_type INTEGER,
            payload_type INTEGER,
            payload_version INTEGER,
            decoded_json TEXT,
            created_at TEXT DEFAULT (datetime('now')),
            channel_hash TEXT DEFAULT NULL
        );
        """;

    private const string TransmissionsIndexSql = """
        CREATE INDEX IF NOT EXISTS idx_transmissions_hash ON transmissions(hash);
        CREATE INDEX IF NOT EXISTS idx_transmissions_first_seen ON transmissions(first_seen);
        CREATE INDEX IF NOT EXISTS idx_transmissions_payload_type ON transmissions(payload_type);
        CREATE INDEX IF NOT EXISTS idx_tx_channel_hash ON transmissions(channel_hash) WHERE payload_type = 5;
        """;

    // created_at's datetime('now') default is not allowed in ALTER TABLE; the writer fills it in.
    private static readonly (string Name, string Definition)[] TransmissionAddedColumns =
    [
        ("route_type", "INTEGER"),
        ("payload_type", "INTEGER"),
        ("payload_version", "INTEGER"),
        ("decoded_json", "TEXT"),
        ("created_at", "TEXT"),
        ("channel_hash", "TEXT DEFAULT NULL"),
    ];

    private const string ObservationsSql = """
        CREATE TABLE IF NOT EXISTS observations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            transmission_id INTEGER NOT NULL REFERENCES transmissions(id),
            observer_idx INTEGER,
            direction TEXT,
            snr REAL,
            rssi REAL,
            score INTEGER,
            path_json TEXT,
            timestamp INTEGER NOT NULL,
            raw_hex TEXT
        );
        """;

    private const string ObservationsIndexSql = """
        CREATE INDEX IF NOT EXISTS idx_observations_transmission_id ON observations(transmission_id);
        CREATE INDEX IF NOT EXISTS idx_observations_observer_idx ON observations(observer_idx);
        CREATE INDEX IF NOT EXISTS idx_observations_timestamp ON observations(timestamp);
        """;

    private const string ObservationsDedupIndexSql = """
        CREATE UNIQUE INDEX IF NOT EXISTS idx_observations_dedup
            ON observations(transmission_id, observer_idx, COALESCE(path_json, ''));
        """;

    private const string CountObservationDuplicatesSql = """
        SELECT COUNT(*) FROM (
            SELECT 1 FROM observations
            GROUP BY transmission_id, observer_idx, COALESCE(path_json, '')
            HAVING COUNT(*) > 1);
        """;

    private static readonly (string Name, string Definition)[] ObservationAddedColumns =
    [
        ("observer_idx", "INTEGER"),
        ("direction", "TEXT"),
        ("snr", "REAL"),
        ("rssi", "REAL"),
        ("score", "INTEGER"),
        ("path_json", "TEXT"),
        ("raw_hex", "TEXT"),
    ];

    private const string MetricsAndDropsSql = """
        CREATE TABLE IF NOT EXISTS observer_metrics (
            observer_id TEXT NOT NULL,
            timestamp TEXT NOT NULL,
            noise_floor REAL,
            tx_air_secs INTEGER,
            rx_air_secs INTEGER,
            recv_errors INTEGER,
            battery_mv INTEGER,
            packets_sent INTEGER,
            packets_recv INTEGER,
            PRIMARY KEY (observer_id, timestamp)
        );
        CREATE INDEX IF NOT EXISTS idx_observer_metrics_timestamp ON observer_metrics(timestamp);
        CREATE TABLE IF NOT EXISTS dropped_packets (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            hash TEXT,
            raw_hex TEXT,
            reason TEXT NOT NULL,
            observer_id TEXT,
            observer_name TEXT,
            node_pubkey TEXT,
            node_name TEXT,
            dropped_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        );
        CREATE INDEX IF NOT EXISTS idx_dropped_observer ON dropped_packets(observer_id);
        CREATE INDEX IF NOT EXISTS idx_dropped_node ON dropped_packets(node_pubkey);
        """;

    // The original's v3 view: observer_idx is the observer's rowid, inactive observers are hidden.
    private const string PacketsViewSql = """
        CREATE VIEW IF NOT EXISTS packets_v AS
            SELECT o.id, COALESCE(o.raw_hex, t.raw_hex) AS raw_hex,
                   datetime(o.timestamp, 'unixepoch') AS timestamp,
                   obs.id AS observer_id, obs.name AS observer_name,
                   o.direction, o.snr, o.rssi, o.score, t.hash, t.route_type,
                   t.payload_type, t.payload_version, o.path_json, t.decoded_json,
                   t.created_at
            FROM observations o
            JOIN transmissions t ON t.id = o.transmission_id
            LEFT JOIN observers obs ON obs.rowid = o.observer_idx AND (obs.inactive IS NULL OR obs.inactive = 0);
        """;

    // The tables every CoreScope database has, with the columns their step can add to an older one.
    private static readonly (string Table, string CreateSql, (string Name, string Definition)[] Added)[] CoreTables =
    [
        ("nodes", NodesSql, NodeAddedColumns),
        ("observers", ObserversSql, ObserverAddedColumns),
        ("transmissions", TransmissionsSql, TransmissionAddedColumns),
        ("observations", ObservationsSql, ObservationAddedColumns),
    ];

    // Read from the CREATE statements above run on an empty in-memory database, so there is no second list to keep.
    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlyList<string>>> LazyRequiredColumns = new(() => ReadRequiredColumns());

    private static readonly Lazy<IReadOnlyDictionary<string, IReadOnlyList<string>>> LazyKeyColumns = new(() =>
        CoreTables.ToDictionary(
            core => core.Table,
            core => (IReadOnlyList<string>)RequiredColumns[core.Table]
                .Where(column => !core.Added.Any(added => string.Equals(added.Name, column, StringComparison.OrdinalIgnoreCase))).ToArray(),
            StringComparer.Ordinal));

    /// <summary>Every column of each core table once its step has run: what the server reads and writes.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> RequiredColumns => LazyRequiredColumns.Value;

    /// <summary>
    /// The columns of each core table that no step can add (keys, NOT NULL without a default): a database without them
    /// cannot be brought to this schema.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> KeyColumns => LazyKeyColumns.Value;

    private const string ColumnNamesSql = "SELECT name FROM pragma_table_info(@table) ORDER BY cid;";

    private static Dictionary<string, IReadOnlyList<string>> ReadRequiredColumns()
    {
        using var connection = new SQLiteConnection("Data Source=:memory:");
        connection.Open();
        var columns = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var (table, createSql, _) in CoreTables)
        {
            connection.Execute(createSql);
            columns[table] = connection.Query<string>(ColumnNamesSql, new { table }).ToArray();
        }

        return columns;
    }

    private Step[] Steps =>
    [
        new("corescope_nodes_v1", async (c, t) =>
        {
            await ExecuteAsync(c, t, NodesSql);
            await AddMissingColumnsAsync(c, t, "nodes", NodeAddedColumns);
            await AddMissingColumnsAsync(c, t, "inactive_nodes", NodeAddedColumns);
        }),
        new("corescope_observers_v1", async (c, t) =>
        {
            await ExecuteAsync(c, t, ObserversSql);
            await AddMissingColumnsAsync(c, t, "observers", ObserverAddedColumns);
            await ExecuteAsync(c, t, ObserversIndexSql);
        }),
        new("corescope_transmissions_v1", async (c, t) =>
        {
            await ExecuteAsync(c, t, TransmissionsSql);
            await AddMissingColumnsAsync(c, t, "transmissions", TransmissionAddedColumns);
            await ExecuteAsync(c, t, TransmissionsIndexSql);
        }),
        new("corescope_observations_v1", async (c, t) =>
        {
            await ExecuteAsync(c, t, ObservationsSql);
            await AddMissingColumnsAsync(c, t, "observations", ObservationAddedColumns);
            await ExecuteAsync(c, t, ObservationsIndexSql);
            await CreateDedupIndexUnlessDuplicatesAsync(c, t);
        }),
        new("corescope_metrics_and_drops_v1", (c, t) => ExecuteAsync(c, t, MetricsAndDropsSql)),
        new("corescope_packets_view_v1", (c, t) => ExecuteAsync(c, t, PacketsViewSql)),
    ];

    /// <summary>The names of every step, in the order they run.</summary>
    public IReadOnlyList<string> StepNames => Steps.Select(step => step.Name).ToArray();

    /// <summary>
    /// Runs the steps not yet recorded in <c>_migrations</c>, each in its own transaction; returns the names of the
    /// steps it ran (a restore reports them).
    /// </summary>
    /// <exception cref="SchemaStepFailedException">A step failed; its transaction rolled back.</exception>
    public async Task<IReadOnlyList<string>> ApplyAsync(SQLiteConnection connection, CancellationToken cancellationToken)
    {
        HashSet<string> applied;
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(CreateMigrationsTableSql, cancellationToken: cancellationToken));
            applied = (await connection.QueryAsync<string>(
                new CommandDefinition(SelectAppliedSql, cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal);
        }
        catch (SQLiteException exception) when (exception.ResultCode != SQLiteErrorCode.Interrupt)
        {
            throw new SchemaStepFailedException("_migrations", exception);
        }

        var ran = new List<string>();
        foreach (var step in Steps)
        {
            if (applied.Contains(step.Name))
            {
                continue;
            }

            try
            {
                using var transaction = connection.BeginTransaction();
                await step.ApplyAsync(connection, transaction);
                await connection.ExecuteAsync(new CommandDefinition(
                    RecordStepSql, new { name = step.Name }, transaction, cancellationToken: cancellationToken));
                transaction.Commit();
            }
            catch (SQLiteException exception) when (exception.ResultCode != SQLiteErrorCode.Interrupt)
            {
                throw new SchemaStepFailedException(step.Name, exception);
            }

            logger.LogInformation("Schema step {Step} applied", step.Name);
            ran.Add(step.Name);
        }

        return ran;
    }

    private static Task<int> ExecuteAsync(SQLiteConnection connection, SQLiteTransaction transaction, string sql) =>
        connection.ExecuteAsync(sql, transaction: transaction);

    private const string TableColumnsSql = "SELECT name FROM pragma_table_info(@table);";

    private static async Task AddMissingColumnsAsync(
        SQLiteConnection connection,
        SQLiteTransaction transaction,
        string table,
        IEnumerable<(string Name, string Definition)> columns)
    {
        var existing = (await connection.QueryAsync<string>(TableColumnsSql, new { table }, transaction))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, definition) in columns.Where(column => !existing.Contains(column.Name)))
        {
            // Table and column names come from the constants above, never from input.
            await connection.ExecuteAsync($"ALTER TABLE {table} ADD COLUMN {name} {definition};", transaction: transaction);
        }
    }

    private async Task CreateDedupIndexUnlessDuplicatesAsync(SQLiteConnection connection, SQLiteTransaction transaction)
    {
        // An older database may already hold duplicate observations. Deleting them would lose stored rows, so
        // the unique index waits; the writer still stores each observation once by looking it up first.
        var duplicates = await connection.ExecuteScalarAsync<long>(CountObservationDuplicatesSql, transaction: transaction);
        if (duplicates > 0)
        {
            logger.LogWarning(
                "observations holds {Count} groups of duplicate rows; idx_observations_dedup is not created so that no row is deleted",
                duplicates);
            return;
        }

        await ExecuteAsync(connection, transaction, ObservationsDedupIndexSql);
    }
}

/// <summary>A schema step failed on a database (its transaction rolled back); the message names the step and SQLite's reason.</summary>
public sealed class SchemaStepFailedException(string step, SQLiteException innerException)
    : Exception($"The schema step {step} failed: {innerException.Message.ReplaceLineEndings(" ")}", innerException)
{
    public string Step { get; } = step;
}
