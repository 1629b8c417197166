using System.Text.Json;
using CoreScope.Data.Connections;
using CoreScope.Data.Packets;
using Dapper;

namespace CoreScope.Data.Reads;

public sealed record PacketSummary(
    long Id, string Hash, string RawHex, string FirstSeen, int? RouteType, int? PayloadType, string? PayloadTypeName,
    int? PayloadVersion, JsonElement? Decoded, long ObservationCount);

public sealed record PacketList(IReadOnlyList<PacketSummary> Packets, long Total, int Limit, int Offset);

public sealed record PacketObservation(
    long Id, string? ObserverId, string? ObserverName, double? Snr, double? Rssi, IReadOnlyList<string> Path, long Timestamp, string RawHex);

public sealed record PacketDetail(
    long Id, string Hash, string RawHex, string FirstSeen, int? RouteType, int? PayloadType, string? PayloadTypeName,
    int? PayloadVersion, JsonElement? Decoded, long ObservationCount, IReadOnlyList<PacketObservation> Observations);

/// <summary>Reads transmissions and their observations on read-only connections.</summary>
public sealed class PacketReader(SqliteConnectionFactory connectionFactory)
{
    // Dapper fills these by property, converting SQLite's storage classes to the declared types.
    private sealed class TransmissionRow
    {
        public long Id { get; init; }

        public string Hash { get; init; } = "";

        public string RawHex { get; init; } = "";

        public string FirstSeen { get; init; } = "";

        public long? RouteType { get; init; }

        public long? PayloadType { get; init; }

        public long? PayloadVersion { get; init; }

        public string? DecodedJson { get; init; }

        public long ObservationCount { get; init; }
    }

    private sealed class ObservationRow
    {
        public long Id { get; init; }

        public string? ObserverId { get; init; }

        public string? ObserverName { get; init; }

        public double? Snr { get; init; }

        public double? Rssi { get; init; }

        public string? PathJson { get; init; }

        public long Timestamp { get; init; }

        public string RawHex { get; init; } = "";
    }

    private const string ListSql = """
        SELECT t.id AS Id, t.hash AS Hash, t.raw_hex AS RawHex, t.first_seen AS FirstSeen, t.route_type AS RouteType,
               t.payload_type AS PayloadType, t.payload_version AS PayloadVersion, t.decoded_json AS DecodedJson,
               (SELECT COUNT(*) FROM observations o WHERE o.transmission_id = t.id) AS ObservationCount
        FROM transmissions t
        ORDER BY t.id DESC
        LIMIT @limit OFFSET @offset;
        SELECT COUNT(*) FROM transmissions;
        """;

    /// <summary>The newest transmissions first, each with its observation count.</summary>
    public async Task<PacketList> ListAsync(Page page, CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition(
            ListSql, new { limit = page.Limit, offset = page.Offset }, cancellationToken: cancellationToken));
        var rows = (await results.ReadAsync<TransmissionRow>()).ToList();
        var total = await results.ReadSingleAsync<long>();
        return new PacketList(rows.Select(ToSummary).ToList(), total, page.Limit, page.Offset);
    }

    private const string TransmissionSql = """
        SELECT t.id AS Id, t.hash AS Hash, t.raw_hex AS RawHex, t.first_seen AS FirstSeen, t.route_type AS RouteType,
               t.payload_type AS PayloadType, t.payload_version AS PayloadVersion, t.decoded_json AS DecodedJson,
               (SELECT COUNT(*) FROM observations o WHERE o.transmission_id = t.id) AS ObservationCount
        FROM transmissions t
        WHERE t.id = @id;
        """;

    // observer_idx holds the observer's rowid; databases from before the original's v3 schema hold its id text.
    private const string ObservationsSql = """
        SELECT o.id AS Id, COALESCE(obs.id, legacy.id) AS ObserverId, COALESCE(obs.name, legacy.name) AS ObserverName,
               o.snr AS Snr, o.rssi AS Rssi, o.path_json AS PathJson, o.timestamp AS Timestamp,
               COALESCE(o.raw_hex, t.raw_hex) AS RawHex
        FROM observations o
        JOIN transmissions t ON t.id = o.transmission_id
        LEFT JOIN observers obs ON obs.rowid = o.observer_idx
        LEFT JOIN observers legacy ON obs.rowid IS NULL AND typeof(o.observer_idx) = 'text' AND legacy.id = o.observer_idx
        WHERE o.transmission_id = @id
        ORDER BY o.id;
        """;

    /// <summary>One transmission with every observation of it, or null when there is none with that id.</summary>
    public async Task<PacketDetail?> GetAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<TransmissionRow>(
            new CommandDefinition(TransmissionSql, new { id }, cancellationToken: cancellationToken));
        if (row is null)
        {
            return null;
        }

        var observations = await connection.QueryAsync<ObservationRow>(
            new CommandDefinition(ObservationsSql, new { id }, cancellationToken: cancellationToken));
        var summary = ToSummary(row);
        return new PacketDetail(
            summary.Id, summary.Hash, summary.RawHex, summary.FirstSeen, summary.RouteType, summary.PayloadType,
            summary.PayloadTypeName, summary.PayloadVersion, summary.Decoded, summary.ObservationCount,
            observations.Select(observation => new PacketObservation(
                observation.Id, observation.ObserverId, observation.ObserverName, Finite(observation.Snr), Finite(observation.Rssi),
                ParseHops(observation.PathJson), observation.Timestamp, observation.RawHex)).ToList());
    }

    // An infinity stored before ingest refused them (or by another writer) cannot be written as JSON; answering it as
    // null keeps the rest of the packet readable.
    private static double? Finite(double? value) => value is { } number && !double.IsFinite(number) ? null : value;

    private static PacketSummary ToSummary(TransmissionRow row) => new(
        row.Id, row.Hash, row.RawHex, row.FirstSeen, (int?)row.RouteType, (int?)row.PayloadType,
        row.PayloadType is { } type ? PacketDecoder.PayloadTypeName((int)type) : null,
        (int?)row.PayloadVersion, PacketJson.ParseStored(row.DecodedJson), row.ObservationCount);

    private static List<string> ParseHops(string? pathJson)
    {
        if (string.IsNullOrWhiteSpace(pathJson))
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize<List<string>>(pathJson) ?? [];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}
