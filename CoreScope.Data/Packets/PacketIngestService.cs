using System.Data.SQLite;
using System.Text.Json;
using CoreScope.Data.Connections;
using CoreScope.Data.Diagnostics;
using Dapper;

namespace CoreScope.Data.Packets;

/// <summary>One observer's report of a packet it heard.</summary>
public sealed record PacketReport(string? Hex, string? ObserverId, double? Snr, double? Rssi, string? Region);

/// <summary>What an ingest stored: the transmission, the observation and whether the transmission was new.</summary>
public sealed record IngestResult(long Id, long ObservationId, string Hash, bool IsNew, DecodedPacket Decoded);

/// <summary>
/// Stores reported packets: the transmission (new, or found by its hash), the observation (once per observer and
/// path), the observer and, for an ADVERT, the node, all in one transaction on the writer.
/// </summary>
public sealed class PacketIngestService(DatabaseWriter writer, IngestCounters counters, TimeProvider timeProvider)
{
    private const string FindTransmissionSql = "SELECT id FROM transmissions WHERE hash = @hash;";

    internal const string InsertTransmissionSql = """
        INSERT INTO transmissions (raw_hex, hash, first_seen, route_type, payload_type, payload_version, decoded_json, created_at, channel_hash)
        VALUES (@rawHex, @hash, @firstSeen, @routeType, @payloadType, @payloadVersion, @decodedJson, datetime('now'), @channelHash);
        SELECT last_insert_rowid();
        """;

    internal const string UpsertObserverSql = """
        INSERT INTO observers (id, iata, last_seen, first_seen, packet_count, inactive)
        VALUES (@id, @iata, @now, @now, 1, 0)
        ON CONFLICT (id) DO UPDATE SET
            packet_count = COALESCE(packet_count, 0) + 1,
            last_seen = excluded.last_seen,
            iata = COALESCE(excluded.iata, iata),
            inactive = 0;
        SELECT rowid FROM observers WHERE id = @id;
        """;

    private const string FindObservationSql = """
        SELECT id FROM observations
        WHERE transmission_id = @transmissionId AND observer_idx IS @observerIdx AND COALESCE(path_json, '') = @pathJson;
        """;

    internal const string InsertObservationSql = """
        INSERT INTO observations (transmission_id, observer_idx, snr, rssi, path_json, timestamp, raw_hex)
        VALUES (@transmissionId, @observerIdx, @snr, @rssi, @pathJson, @timestamp, @rawHex);
        SELECT last_insert_rowid();
        """;

    internal const string UpsertNodeSql = """
        INSERT INTO nodes (public_key, name, role, lat, lon, last_seen, first_seen, advert_count)
        VALUES (@publicKey, @name, @role, @lat, @lon, @now, @now, @increment)
        ON CONFLICT (public_key) DO UPDATE SET
            name = COALESCE(excluded.name, name),
            role = COALESCE(excluded.role, role),
            lat = COALESCE(excluded.lat, lat),
            lon = COALESCE(excluded.lon, lon),
            last_seen = excluded.last_seen,
            advert_count = COALESCE(advert_count, 0) + @increment;
        """;

    /// <summary>Decodes and stores a report; a malformed packet throws <see cref="PacketFormatException"/> and stores nothing.</summary>
    public async Task<IngestResult> IngestAsync(PacketReport report, CancellationToken cancellationToken)
    {
        DecodedPacket decoded;
        try
        {
            decoded = PacketDecoder.Decode(report.Hex);
        }
        catch (PacketFormatException)
        {
            counters.Rejected();
            throw;
        }

        IngestResult result;
        try
        {
            result = await StoreAsync(report, decoded, cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            counters.Failed();
            throw;
        }

        if (result.IsNew)
        {
            counters.New();
        }
        else
        {
            counters.Known();
        }

        return result;
    }

    private Task<IngestResult> StoreAsync(PacketReport report, DecodedPacket decoded, CancellationToken cancellationToken)
    {
        var observerId = string.IsNullOrWhiteSpace(report.ObserverId) ? null : report.ObserverId.Trim();
        var region = string.IsNullOrWhiteSpace(report.Region) ? null : report.Region.Trim().ToUpperInvariant();

        return writer.WriteAsync(async (connection, transaction, token) =>
        {
            var now = timeProvider.GetUtcNow();
            var nowIso = IsoTime.Format(now);

            var transmissionId = await connection.ExecuteScalarAsync<long?>(Command(FindTransmissionSql, new { hash = decoded.Hash }, transaction, token));
            var isNew = transmissionId is null;
            transmissionId ??= await connection.ExecuteScalarAsync<long>(Command(InsertTransmissionSql, new
            {
                rawHex = decoded.RawHex,
                hash = decoded.Hash,
                firstSeen = nowIso,
                routeType = decoded.Header.RouteType,
                payloadType = decoded.Header.PayloadType,
                payloadVersion = decoded.Header.PayloadVersion,
                decodedJson = JsonSerializer.Serialize(decoded.Payload, PacketJson.Options),
                channelHash = decoded.Header.PayloadType == PacketDecoder.PayloadTypeGroupText ? decoded.Payload.ChannelHashHex : null,
            }, transaction, token));

            long? observerIdx = observerId is null
                ? null
                : await connection.ExecuteScalarAsync<long>(Command(UpsertObserverSql, new { id = observerId, iata = region, now = nowIso }, transaction, token));

            var pathJson = JsonSerializer.Serialize(decoded.StoredHops);
            var observationId = await connection.ExecuteScalarAsync<long?>(Command(
                FindObservationSql, new { transmissionId, observerIdx, pathJson }, transaction, token));
            observationId ??= await connection.ExecuteScalarAsync<long>(Command(InsertObservationSql, new
            {
                transmissionId,
                observerIdx,
                snr = report.Snr,
                rssi = report.Rssi,
                pathJson,
                timestamp = now.ToUnixTimeSeconds(),
                rawHex = await IsStoredRawHexAsync(connection, transaction, transmissionId.Value, decoded.RawHex, token) ? null : decoded.RawHex,
            }, transaction, token));

            if (decoded.Header.PayloadType == PacketDecoder.PayloadTypeAdvert && decoded.Payload.PubKey is { } publicKey)
            {
                await connection.ExecuteAsync(Command(UpsertNodeSql, new
                {
                    publicKey,
                    name = decoded.Payload.Name,
                    role = decoded.Payload.Role,
                    lat = decoded.Payload.Lat,
                    lon = decoded.Payload.Lon,
                    now = nowIso,
                    increment = isNew ? 1 : 0,
                }, transaction, token));
            }

            return new IngestResult(transmissionId.Value, observationId.Value, decoded.Hash, isNew, decoded);
        }, cancellationToken);
    }

    private const string StoredRawHexSql = "SELECT raw_hex FROM transmissions WHERE id = @id;";

    // An observation keeps its own bytes only when they differ from the transmission's (another path).
    private static async Task<bool> IsStoredRawHexAsync(SQLiteConnection connection, SQLiteTransaction transaction, long id, string rawHex, CancellationToken token)
    {
        var stored = await connection.ExecuteScalarAsync<string?>(Command(StoredRawHexSql, new { id }, transaction, token));
        return string.Equals(stored, rawHex, StringComparison.OrdinalIgnoreCase);
    }

    private static CommandDefinition Command(string sql, object parameters, SQLiteTransaction transaction, CancellationToken token) =>
        new(sql, parameters, transaction, cancellationToken: token);
}
