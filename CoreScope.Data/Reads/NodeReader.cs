using CoreScope.Data.Connections;
using Dapper;

namespace CoreScope.Data.Reads;

public sealed class Node
{
    public string PublicKey { get; init; } = "";

    public string? Name { get; init; }

    public string? Role { get; init; }

    public double? Lat { get; init; }

    public double? Lon { get; init; }

    public string? LastSeen { get; init; }

    public string? FirstSeen { get; init; }

    public long AdvertCount { get; init; }

    public long? BatteryMv { get; init; }

    public double? TemperatureC { get; init; }
}

public sealed record NodeList(IReadOnlyList<Node> Nodes, long Total, int Limit, int Offset);

/// <summary>Reads the nodes the mesh announced, most recently heard first.</summary>
public sealed class NodeReader(SqliteConnectionFactory connectionFactory)
{
    // An infinity another writer stored cannot be written as JSON; it is read as null (9e999 is SQLite's infinity,
    // and nothing is less than it but finite numbers) so the node stays readable.
    private const string Columns = """
        public_key AS PublicKey, name AS Name, role AS Role,
        CASE WHEN abs(lat) < 9e999 THEN lat END AS Lat, CASE WHEN abs(lon) < 9e999 THEN lon END AS Lon,
        last_seen AS LastSeen, first_seen AS FirstSeen, COALESCE(advert_count, 0) AS AdvertCount, battery_mv AS BatteryMv,
        CASE WHEN abs(temperature_c) < 9e999 THEN temperature_c END AS TemperatureC
        """;

    private const string ListSql = $"""
        SELECT {Columns} FROM nodes
        WHERE @role IS NULL OR role = @role
        ORDER BY last_seen DESC, public_key
        LIMIT @limit OFFSET @offset;
        SELECT COUNT(*) FROM nodes WHERE @role IS NULL OR role = @role;
        """;

    /// <summary>The roles an ADVERT announces, as stored and as <c>role=</c> takes them.</summary>
    public static readonly IReadOnlyList<string> Roles = ["repeater", "room", "companion", "sensor"];

    /// <summary>
    /// Nodes of <paramref name="role"/> (any case; null or empty for all), most recently heard first. Another role
    /// throws <see cref="InvalidInputException"/>: it would match nothing, and an empty list reads as "no such nodes".
    /// </summary>
    public async Task<NodeList> ListAsync(Page page, string? role, CancellationToken cancellationToken)
    {
        var storedRole = string.IsNullOrEmpty(role) ? null
            : Roles.FirstOrDefault(known => known.Equals(role, StringComparison.OrdinalIgnoreCase))
              ?? throw new InvalidInputException($"role must be one of {string.Join(", ", Roles)}; \"{role}\" is not a node role.");
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        using var results = await connection.QueryMultipleAsync(new CommandDefinition(
            ListSql, new { limit = page.Limit, offset = page.Offset, role = storedRole }, cancellationToken: cancellationToken));
        var nodes = (await results.ReadAsync<Node>()).ToList();
        var total = await results.ReadSingleAsync<long>();
        return new NodeList(nodes, total, page.Limit, page.Offset);
    }

    private const string GetSql = $"SELECT {Columns} FROM nodes WHERE public_key = @publicKey COLLATE NOCASE;";

    /// <summary>The node with that public key (any case), or null.</summary>
    public async Task<Node?> GetAsync(string publicKey, CancellationToken cancellationToken)
    {
        await using var connection = await connectionFactory.OpenReadOnlyAsync(cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<Node>(
            new CommandDefinition(GetSql, new { publicKey }, cancellationToken: cancellationToken));
    }
}
