using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace CoreScope.Data.Packets;

/// <summary>
/// Decodes MeshCore packets from hex and computes their content hash, as <c>docs/meshcore/PACKETS.md</c>
/// describes. Pure code on bytes: no I/O, used by the writer and by <c>POST /api/decode</c>.
/// </summary>
public static class PacketDecoder
{
    /// <summary>The largest packet accepted, in bytes; real MeshCore packets are far smaller.</summary>
    public const int MaxPacketBytes = 512;

    public const int PayloadTypeAdvert = 4;
    public const int PayloadTypeGroupText = 5;
    public const int PayloadTypeTrace = 9;

    private static readonly string[] RouteTypeNames = ["TRANSPORT_FLOOD", "FLOOD", "DIRECT", "TRANSPORT_DIRECT"];

    private static readonly Dictionary<int, string> PayloadTypeNames = new()
    {
        [0] = "REQ", [1] = "RESPONSE", [2] = "TXT_MSG", [3] = "ACK", [4] = "ADVERT", [5] = "GRP_TXT",
        [6] = "GRP_DATA", [7] = "ANON_REQ", [8] = "PATH", [9] = "TRACE", [10] = "MULTIPART", [11] = "CONTROL",
        [15] = "RAW_CUSTOM",
    };

    private static readonly System.Buffers.SearchValues<char> HexDigits =
        System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>The name of a payload type, or UNKNOWN.</summary>
    public static string PayloadTypeName(int payloadType) => PayloadTypeNames.GetValueOrDefault(payloadType, "UNKNOWN");

    /// <summary>Decodes a packet; a malformed one throws <see cref="PacketFormatException"/> saying what is wrong.</summary>
    public static DecodedPacket Decode(string? hex)
    {
        var bytes = ParseHex(hex);

        var headerByte = bytes[0];
        var routeType = headerByte & 0x03;
        var payloadType = (headerByte >> 2) & 0x0F;
        var payloadVersion = headerByte >> 6;
        var header = new PacketHeader(
            routeType, RouteTypeNames[routeType], payloadType,
            PayloadTypeName(payloadType), payloadVersion);

        var offset = 1;
        TransportCodes? transportCodes = null;
        if (routeType is 0 or 3)
        {
            if (bytes.Length < offset + 4)
            {
                throw new PacketFormatException(
                    $"Packet too short for its transport codes: a {header.RouteTypeName} packet needs 4 bytes of transport codes after the header, and {bytes.Length - offset} follow.");
            }

            transportCodes = new TransportCodes(
                Convert.ToHexString(bytes, offset, 2), Convert.ToHexString(bytes, offset + 2, 2));
            offset += 4;
        }

        if (bytes.Length < offset + 1)
        {
            throw new PacketFormatException("Packet too short for its path-length byte: it ends after " + offset + " bytes.");
        }

        var pathLengthByte = bytes[offset++];
        var hashSize = (pathLengthByte >> 6) + 1;
        var hashCount = pathLengthByte & 0x3F;
        var pathBytes = hashSize * hashCount;
        if (bytes.Length < offset + pathBytes)
        {
            throw new PacketFormatException(
                $"Path runs past the end of the packet: {hashCount} hops of {hashSize} bytes need {pathBytes} bytes, and only {bytes.Length - offset} remain.");
        }

        var hops = new List<string>(hashCount);
        for (var hop = 0; hop < hashCount; hop++)
        {
            hops.Add(Convert.ToHexString(bytes, offset + hop * hashSize, hashSize));
        }

        var path = new PacketPath(hashSize, hashCount, hops);
        var pathSpan = bytes.AsSpan(offset, pathBytes);
        offset += pathBytes;
        var payloadBytes = bytes.AsSpan(offset);

        return new DecodedPacket(
            header, transportCodes, path, DecodePayload(header, payloadBytes, pathSpan),
            ComputeHash(payloadType, pathLengthByte, payloadBytes), Convert.ToHexString(bytes));
    }

    /// <summary>
    /// First 16 lowercase hex characters of SHA-256 over the payload type, for TRACE the path-length byte and a
    /// zero byte, then the payload: the same packet heard over different paths has one hash.
    /// </summary>
    public static string ComputeHash(int payloadType, byte pathLengthByte, ReadOnlySpan<byte> payload)
    {
        var prefixLength = payloadType == PayloadTypeTrace ? 3 : 1;
        var input = new byte[prefixLength + payload.Length];
        input[0] = (byte)payloadType;
        if (payloadType == PayloadTypeTrace)
        {
            input[1] = pathLengthByte;
            input[2] = 0;
        }

        payload.CopyTo(input.AsSpan(prefixLength));
        return Convert.ToHexStringLower(SHA256.HashData(input))[..16];
    }

    private static byte[] ParseHex(string? hex)
    {
        var text = (hex ?? string.Empty).Trim();
        if (text.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            text = text[2..];
        }

        if (text.Length == 0)
        {
            throw new PacketFormatException("hex is empty: the packet is too short for its header byte.");
        }

        var bad = text.AsSpan().IndexOfAnyExcept(HexDigits);
        if (bad >= 0)
        {
            throw new PacketFormatException($"hex has a character that is not hexadecimal ('{text[bad]}' at position {bad}).");
        }

        if (text.Length % 2 != 0)
        {
            throw new PacketFormatException($"hex has an odd number of digits ({text.Length}); every byte takes two.");
        }

        if (text.Length / 2 > MaxPacketBytes)
        {
            throw new PacketFormatException($"Packet too large: {text.Length / 2} bytes, the limit is {MaxPacketBytes}.");
        }

        return Convert.FromHexString(text);
    }

    private static PacketPayload DecodePayload(PacketHeader header, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> headerPath) =>
        header.PayloadType switch
        {
            0 or 1 or 2 or 8 => DecodeAddressed(header.PayloadTypeName, payload),
            3 => payload.Length < 4
                ? TooShort("ACK", payload)
                : new PacketPayload { Type = "ACK", ExtraHash = BinaryPrimitives.ReadUInt32LittleEndian(payload).ToString("x8", CultureInfo.InvariantCulture) },
            PayloadTypeAdvert => DecodeAdvert(payload),
            5 or 6 => payload.Length < 3
                ? TooShort(header.PayloadTypeName, payload)
                : new PacketPayload
                {
                    Type = header.PayloadTypeName,
                    ChannelHash = payload[0],
                    ChannelHashHex = Convert.ToHexStringLower(payload[..1]),
                    Mac = Convert.ToHexStringLower(payload.Slice(1, 2)),
                    EncryptedData = Convert.ToHexStringLower(payload[3..]),
                },
            7 => payload.Length < 35
                ? TooShort("ANON_REQ", payload)
                : new PacketPayload
                {
                    Type = "ANON_REQ",
                    DestHash = Convert.ToHexStringLower(payload[..1]),
                    EphemeralPubKey = Convert.ToHexStringLower(payload.Slice(1, 32)),
                    Mac = Convert.ToHexStringLower(payload.Slice(33, 2)),
                    EncryptedData = Convert.ToHexStringLower(payload[35..]),
                },
            PayloadTypeTrace => DecodeTrace(payload, headerPath),
            _ => new PacketPayload { Type = header.PayloadTypeName, Raw = Convert.ToHexStringLower(payload) },
        };

    private static PacketPayload TooShort(string type, ReadOnlySpan<byte> payload) =>
        new() { Type = type, Error = "too short", Raw = Convert.ToHexStringLower(payload) };

    private static PacketPayload DecodeAddressed(string type, ReadOnlySpan<byte> payload) =>
        payload.Length < 4
            ? TooShort(type, payload)
            : new PacketPayload
            {
                Type = type,
                DestHash = Convert.ToHexStringLower(payload[..1]),
                SrcHash = Convert.ToHexStringLower(payload.Slice(1, 1)),
                Mac = Convert.ToHexStringLower(payload.Slice(2, 2)),
                EncryptedData = Convert.ToHexStringLower(payload[4..]),
            };

    private static PacketPayload DecodeAdvert(ReadOnlySpan<byte> payload)
    {
        const int fixedLength = 32 + 4 + 64;
        if (payload.Length < fixedLength)
        {
            return TooShort("ADVERT", payload);
        }

        var timestamp = BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice(32, 4));
        var advert = new PacketPayload
        {
            Type = "ADVERT",
            PubKey = Convert.ToHexStringLower(payload[..32]),
            Timestamp = timestamp,
            TimestampIso = IsoTime.Format(DateTimeOffset.FromUnixTimeSeconds(timestamp)),
            Signature = Convert.ToHexStringLower(payload.Slice(36, 64)),
        };

        var appData = payload[fixedLength..];
        if (appData.IsEmpty)
        {
            return advert;
        }

        var flagsByte = appData[0];
        var nodeType = flagsByte & 0x0F;
        var flags = new AdvertFlags(
            flagsByte, nodeType, nodeType == 1, nodeType == 2, nodeType == 3, nodeType == 4,
            HasLocation: (flagsByte & 0x10) != 0, HasName: (flagsByte & 0x80) != 0);
        advert = advert with { Flags = flags };

        var offset = 1;
        if (flags.HasLocation && appData.Length >= offset + 8)
        {
            advert = advert with
            {
                Lat = BinaryPrimitives.ReadInt32LittleEndian(appData.Slice(offset, 4)) / 1e6,
                Lon = BinaryPrimitives.ReadInt32LittleEndian(appData.Slice(offset + 4, 4)) / 1e6,
            };
            offset += 8;
        }

        if (flags.HasName && appData.Length > offset)
        {
            var nameBytes = appData[offset..];
            var end = nameBytes.IndexOf((byte)0);
            var name = Encoding.UTF8.GetString(end >= 0 ? nameBytes[..end] : nameBytes);
            advert = advert with { Name = new string(name.Where(character => !char.IsControl(character)).ToArray()) };
        }

        return advert;
    }

    private static PacketPayload DecodeTrace(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> headerPath)
    {
        const int fixedLength = 4 + 4 + 1;
        if (payload.Length < fixedLength)
        {
            return TooShort("TRACE", payload);
        }

        var traceFlags = payload[8];
        var hopSize = 1 << (traceFlags & 0x03);
        var hopBytes = payload[fixedLength..];
        var hops = new List<string>(hopBytes.Length / hopSize);
        for (var start = 0; start + hopSize <= hopBytes.Length; start += hopSize)
        {
            hops.Add(Convert.ToHexString(hopBytes.Slice(start, hopSize)));
        }

        var snrValues = new List<double>(headerPath.Length);
        foreach (var value in headerPath)
        {
            snrValues.Add((sbyte)value / 4.0);
        }

        return new PacketPayload
        {
            Type = "TRACE",
            Tag = BinaryPrimitives.ReadUInt32LittleEndian(payload[..4]),
            AuthCode = BinaryPrimitives.ReadUInt32LittleEndian(payload.Slice(4, 4)),
            TraceFlags = traceFlags,
            Hops = hops,
            SnrValues = snrValues,
        };
    }
}
