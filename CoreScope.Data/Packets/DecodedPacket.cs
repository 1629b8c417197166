using System.Text.Json.Serialization;

namespace CoreScope.Data.Packets;

/// <summary>A decoded MeshCore packet, in the JSON shape CoreScope clients know.</summary>
/// <param name="Header">Route type, payload type and version, with names.</param>
/// <param name="TransportCodes">The two transport codes of TRANSPORT_* routes; null on other routes.</param>
/// <param name="Path">The header path: hash size, hop count and hops.</param>
/// <param name="Payload">The payload's fields.</param>
/// <param name="Hash">The content hash that groups observations of one transmission (see docs/meshcore/PACKETS.md).</param>
/// <param name="RawHex">The whole packet as uppercase hex, as <c>raw_hex</c> stores it.</param>
public sealed record DecodedPacket(
    PacketHeader Header,
    TransportCodes? TransportCodes,
    PacketPath Path,
    PacketPayload Payload,
    [property: JsonIgnore] string Hash,
    [property: JsonIgnore] string RawHex)
{
    /// <summary>The hops stored in <c>path_json</c>: the header path, or for TRACE the payload's hops.</summary>
    [JsonIgnore]
    public IReadOnlyList<string> StoredHops => Payload.Hops ?? Path.Hops;
}

public sealed record PacketHeader(int RouteType, string RouteTypeName, int PayloadType, string PayloadTypeName, int PayloadVersion);

public sealed record TransportCodes(string Code1, string Code2);

public sealed record PacketPath(int HashSize, int HashCount, IReadOnlyList<string> Hops);

public sealed record AdvertFlags(int Raw, int Type, bool Chat, bool Repeater, bool Room, bool Sensor, bool HasLocation, bool HasName);

/// <summary>
/// The payload's fields; which are set depends on the payload type, and unset ones are left out of the JSON,
/// as the original does.
/// </summary>
public sealed record PacketPayload
{
    public required string Type { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DestHash { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? SrcHash { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? EphemeralPubKey { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Mac { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? EncryptedData { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ExtraHash { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? PubKey { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Timestamp { get; init; }

    [JsonPropertyName("timestampISO")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? TimestampIso { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Signature { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AdvertFlags? Flags { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Lat { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? Lon { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? ChannelHash { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ChannelHashHex { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Tag { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? AuthCode { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? TraceFlags { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Hops { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<double>? SnrValues { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Raw { get; init; }

    /// <summary>Set when the payload is too short for its type; the packet itself is still well-formed.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }

    /// <summary>The role a node announces in an ADVERT, by CoreScope's names.</summary>
    [JsonIgnore]
    public string? Role => Flags?.Type switch
    {
        1 => "companion",
        2 => "repeater",
        3 => "room",
        4 => "sensor",
        _ => null,
    };
}
