using System.Buffers.Binary;
using System.Data.SQLite;
using System.Globalization;
using System.Text;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using CoreScope.Data.Schema;
using Dapper;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Restore;

/// <summary>What the checks found and did to the staging copy.</summary>
/// <param name="Rows">Every table's rows, after the copy was brought to the current schema.</param>
/// <param name="SchemaStepsApplied">The schema steps the copy lacked and was given.</param>
/// <param name="PageSizeRebuiltFrom">The copy's page size when it had to be rebuilt to the live one; null when they matched.</param>
public sealed record CheckedDatabase(SortedDictionary<string, long> Rows, IReadOnlyList<string> SchemaStepsApplied, int? PageSizeRebuiltFrom);

/// <summary>
/// The checks a staged database passes before anything live changes, in the order that fails cheapest first: the
/// header (SQLite's magic, a length that matches the header's page count), <c>integrity_check</c>, the CoreScope
/// tables, schema steps not newer than ours. Then the staging copy is made fit to go live: rebuilt to the live page
/// size (the backup API refuses to copy into a WAL database across page sizes: "attempt to write a readonly
/// database") and brought to the current schema, so the live database never runs on an old one.
/// </summary>
public sealed class RestoreChecks(SqliteConnectionFactory connectionFactory, SchemaMigrator schemaMigrator, IOptions<RestoreOptions> options)
{
    private static readonly byte[] SqliteMagic = Encoding.ASCII.GetBytes("SQLite format 3\0");

    // The staging copy is a scratch file swept after a crash: a rollback journal (so its page size can change) and no
    // fsyncs while it is rebuilt and migrated. Reading it through a memory map spared integrity_check the 5 s of
    // system time its reads cost on the 1 GB bench database (sqlite3 CLI: sys 5.2 s -> 0.1 s).
    private const string StagingConnectionSql = "PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF; PRAGMA mmap_size = 2147418112;";

    private const string IntegrityCheckSql = "PRAGMA integrity_check;";

    private const string QuickCheckSql = "PRAGMA quick_check;";

    private const string PageSizeSql = "PRAGMA page_size;";

    // VACUUM rewrites every page at the new size; a few seconds per GB, paid only when the sizes differ. {0} is the live
    // page size, an integer SQLite reported.
    private static readonly CompositeFormat RebuildToPageSizeSql = CompositeFormat.Parse("PRAGMA page_size = {0}; VACUUM;");

    public async Task<CheckedDatabase> CheckAsync(string file, int? livePageSize, CancellationToken cancellationToken)
    {
        await CheckHeaderAsync(file, cancellationToken);
        try
        {
            await using var connection = await connectionFactory.OpenFileAsync(file, readOnly: false, cancellationToken);
            await connection.ExecuteAsync(new CommandDefinition(StagingConnectionSql, cancellationToken: cancellationToken));
            await CheckIntegrityAsync(connection, options.Value.IntegrityCheck, cancellationToken);
            var tables = await DatabaseFacts.TablesAsync(connection, cancellationToken);
            var missing = DatabaseFacts.RequiredTables.Where(table => !tables.Contains(table, StringComparer.Ordinal)).ToList();
            if (missing.Count > 0)
            {
                throw new RestoreFailedException(RestoreFailure.Unusable,
                    $"The file is a SQLite database but not a CoreScope one: it has no {string.Join(", ", missing)} table(s). " +
                    "Send a backup of this server or of the original CoreScope.");
            }

            var unknownSteps = (await DatabaseFacts.SchemaStepsAsync(connection, cancellationToken))
                .Except(schemaMigrator.StepNames, StringComparer.Ordinal).ToList();
            if (unknownSteps.Count > 0)
            {
                throw new RestoreFailedException(RestoreFailure.NewerSchema,
                    $"The database was made by a newer version of this server: it has schema steps this one does not know " +
                    $"({string.Join(", ", unknownSteps)}). Restore it with that version or newer.");
            }

            var pageSize = await connection.ExecuteScalarAsync<int>(new CommandDefinition(PageSizeSql, cancellationToken: cancellationToken));
            int? rebuiltFrom = null;
            if (livePageSize is { } live && live != pageSize)
            {
                await connection.ExecuteAsync(new CommandDefinition(
                    string.Format(CultureInfo.InvariantCulture, RebuildToPageSizeSql, live), cancellationToken: cancellationToken, commandTimeout: 0));
                rebuiltFrom = pageSize;
            }

            var applied = await schemaMigrator.ApplyAsync(connection, cancellationToken);
            var rows = await DatabaseFacts.CountRowsAsync(connection, cancellationToken);
            return new CheckedDatabase(rows, applied, rebuiltFrom);
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
    }

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
