using CoreScope.Data.Connections;
using Dapper;

namespace CoreScope.Data.Reads;

public sealed class RoleCounts
{
    public long Repeaters { get; init; }

    public long Rooms { get; init; }

    public long Companions { get; init; }

    public long Sensors { get; init; }
}

public sealed class DatabaseCounts
{
    public long TotalTransmissions { get; init; }

    public long TotalObservations { get; init; }

    public long TotalNodes { get; init; }

    public long TotalNodesAllTime { get; init; }

    public long TotalObservers { get; init; }

    public long PacketsLastHour { get; init; }

    public long PacketsLast24h { get; init; }

    public RoleCounts Counts { get; init; } = new();
}

public sealed record RowCounts(long Transmissions, long Observations, long Nodes, long Observers);

public sealed record DatabaseSizes(double DbSizeMB, double WalSizeMB, double FreelistMB, RowCounts Rows);

/// <summary>Counts and sizes of the database for <c>/api/stats</c>, <c>/api/perf</c> and <c>/api/health</c>.</summary>
public sealed class StatsReader(SqliteConnectionFactory connectionFactory, DatabaseLocation location, TimeProvider timeProvider)
{
    private const double Megabyte = 1024 * 1024;

    private const string CountsSql = """
        SELECT
            (SELECT COUNT(*) FROM transmissions) AS TotalTransmissions,
            (SELECT COUNT(*) FROM observations) AS TotalObservations,
            (SELECT COUNT(*) FROM nodes WHERE last_seen >= @activeSince) AS TotalNodes,
            (SELECT COUNT(*) FROM nodes) AS TotalNodesAllTime,
            (SELECT COUNT(*) FROM observers) AS TotalObservers,
            (SELECT COUNT(*) FROM observations WHERE timestamp >= @hourAgo) AS PacketsLastHour,
            (SELECT COUNT(*) FROM observations WHERE timestamp >= @dayAgo) AS PacketsLast24h;
        SELECT
            COALESCE(SUM(role = 'repeater'), 0) AS Repeaters,
            COALESCE(SUM(role = 'room'), 0) AS Rooms,
            COALESCE(SUM(role IN ('companion', 'chat')), 0) AS Companions,
            COALESCE(SUM(role = 'sensor'), 0) AS Sensors
        FROM nodes;
        """;

    /// <summary>Row counts as <c>/api/stats</c> reports them; "active" nodes are those heard in the last 7 days.</summary>
    public async Task<DatabaseCounts> CountAsync(CancellationToken cancellationToken)
    {
        var now = timeProvider.GetUtcNow();
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition(CountsSql, new
        {
            activeSince = IsoTime.Format(now.AddDays(-7)),
            hourAgo = now.AddHours(-1).ToUnixTimeSeconds(),
            dayAgo = now.AddDays(-1).ToUnixTimeSeconds(),
        }, cancellationToken: cancellationToken));
        var counts = await results.ReadSingleAsync<DatabaseCounts>();
        var roles = await results.ReadSingleAsync<RoleCounts>();
        return new DatabaseCounts
        {
            TotalTransmissions = counts.TotalTransmissions,
            TotalObservations = counts.TotalObservations,
            TotalNodes = counts.TotalNodes,
            TotalNodesAllTime = counts.TotalNodesAllTime,
            TotalObservers = counts.TotalObservers,
            PacketsLastHour = counts.PacketsLastHour,
            PacketsLast24h = counts.PacketsLast24h,
            Counts = roles,
        };
    }

    private const string SizesSql = """
        SELECT page_count * page_size AS DbBytes, freelist_count * page_size AS FreelistBytes
        FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size();
        SELECT (SELECT COUNT(*) FROM transmissions), (SELECT COUNT(*) FROM observations),
               (SELECT COUNT(*) FROM nodes), (SELECT COUNT(*) FROM observers);
        """;

    /// <summary>The database's size, its WAL's size, its free pages and its main row counts.</summary>
    public async Task<DatabaseSizes> SizesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition(SizesSql, cancellationToken: cancellationToken));
        var (dbBytes, freelistBytes) = await results.ReadSingleAsync<(long, long)>();
        var (transmissions, observations, nodes, observers) = await results.ReadSingleAsync<(long, long, long, long)>();
        var walBytes = File.Exists(location.WalPath) ? new FileInfo(location.WalPath).Length : 0;
        return new DatabaseSizes(
            Math.Round(dbBytes / Megabyte, 2), Math.Round(walBytes / Megabyte, 2), Math.Round(freelistBytes / Megabyte, 2),
            new RowCounts(transmissions, observations, nodes, observers));
    }

    private const string ProbeSql = "SELECT COUNT(*) FROM transmissions WHERE id = (SELECT MAX(id) FROM transmissions);";

    /// <summary>Reads the schema and a table; throws when the database cannot be read.</summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        await connection.ExecuteScalarAsync<long>(new CommandDefinition(ProbeSql, cancellationToken: cancellationToken));
    }
}
