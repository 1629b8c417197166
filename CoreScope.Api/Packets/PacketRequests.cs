using System.ComponentModel.DataAnnotations;

namespace CoreScope.Api.Packets;

/// <summary>How large a packet request's body may be.</summary>
public static class PacketRequestLimits
{
    /// <summary>
    /// 16 KiB: a packet is at most 512 bytes (1,024 hex digits) and the other members are short, so a real body is
    /// under 2 KiB. Kestrel's default of 30 MB let anyone, without a key, make the server hold tens of MB per request.
    /// </summary>
    public const int MaxBodyBytes = 16 * 1024;
}

/// <summary>One observer's report of a packet, as CoreScope ingestors send it.</summary>
public sealed class IngestPacketRequest
{
    /// <summary>The raw packet as hexadecimal.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "hex is required: the raw packet as hexadecimal.")]
    public string? Hex { get; init; }

    /// <summary>The observer's id (usually its public key).</summary>
    [MaxLength(128)]
    public string? Observer { get; init; }

    /// <summary>Signal-to-noise ratio in dB.</summary>
    [Finite(ErrorMessage = "snr must be a finite number (1e400, -1e309, Infinity and NaN are not).")]
    public double? Snr { get; init; }

    /// <summary>Received signal strength in dBm.</summary>
    [Finite(ErrorMessage = "rssi must be a finite number (1e400, -1e309, Infinity and NaN are not).")]
    public double? Rssi { get; init; }

    /// <summary>The observer's region (IATA code), stored as the observer's <c>iata</c>.</summary>
    [MaxLength(16)]
    public string? Region { get; init; }
}

/// <summary>A packet to decode without storing it.</summary>
public sealed class DecodePacketRequest
{
    [Required(AllowEmptyStrings = false, ErrorMessage = "hex is required: the raw packet as hexadecimal.")]
    public string? Hex { get; init; }
}
