using CoreScope.Data.Connections;
using Dapper;

namespace CoreScope.Data.Reads;

public sealed class Observer
{
    public string Id { get; init; } = "";

    public string? Name { get; init; }

    public string? Iata { get; init; }

    public string? LastSeen { get; init; }

    public string? FirstSeen { get; init; }

    public long PacketCount { get; init; }

    public string? Model { get; init; }

    public string? Firmware { get; init; }

    public string? ClientVersion { get; init; }

    public string? Radio { get; init; }

    public long? BatteryMv { get; init; }

    public long? UptimeSecs { get; init; }

    public double? NoiseFloor { get; init; }

    public bool Inactive { get; init; }
}

public sealed record ObserverList(IReadOnlyList<Observer> Observers, long Total);

/// <summary>Reads the observers that report packets, most recently heard first.</summary>
public sealed class ObserverReader(SqliteConnectionFactory connectionFactory)
{
    private const string ListSql = """
        SELECT id AS Id, name AS Name, iata AS Iata, last_seen AS LastSeen, first_seen AS FirstSeen,
               COALESCE(packet_count, 0) AS PacketCount, model AS Model, firmware AS Firmware,
               client_version AS ClientVersion, radio AS Radio, battery_mv AS BatteryMv, uptime_secs AS UptimeSecs,
               noise_floor AS NoiseFloor, COALESCE(inactive, 0) <> 0 AS Inactive
        FROM observers
        ORDER BY last_seen DESC, id;
        """;

    public async Task<ObserverList> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        var observers = (await connection.QueryAsync<Observer>(new CommandDefinition(ListSql, cancellationToken: cancellationToken))).ToList();
        return new ObserverList(observers, observers.Count);
    }
}
