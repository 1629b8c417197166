using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using CoreScope.Data.Packets;

namespace CoreScope.Bench;

/// <summary>One packet as the generator stores it: bytes, decoded payload, content hash and hops.</summary>
public sealed record GeneratedPacket(string RawHex, string Hash, int RouteType, int PayloadType, string DecodedJson, string PathJson, string? AdvertKey);

/// <summary>
/// Builds real MeshCore packets (the wire format of shared/meshcore/PACKETS.md) in the mix a busy mesh hears:
/// adverts, channel messages, direct messages, requests and traces. Each is run through the server's own
/// decoder, so hashes and decoded JSON are exactly what ingest would store.
/// </summary>
public sealed class MeshPackets(Random random, IReadOnlyList<byte[]> nodeKeys, IReadOnlyList<string> nodeNames)
{
    public GeneratedPacket Next()
    {
        var roll = random.Next(100);
        var (payloadType, payload) = roll switch
        {
            < 30 => (4, Advert(out _)),
            < 60 => (5, Bytes(3 + random.Next(16, 96))),
            < 80 => (2, Bytes(4 + random.Next(16, 64))),
            < 90 => (0, Bytes(4 + random.Next(8, 32))),
            _ => (9, Trace()),
        };
        var routeType = payloadType == 9 ? 2 : random.Next(3) == 0 ? 2 : 1;
        var hashSize = random.Next(4) == 0 ? 2 : 1;
        var hops = payloadType == 9 ? random.Next(1, 6) : random.Next(0, 7);

        var packet = new byte[2 + hashSize * hops + payload.Length];
        packet[0] = (byte)(routeType | (payloadType << 2));
        packet[1] = (byte)(((hashSize - 1) << 6) | hops);
        random.NextBytes(packet.AsSpan(2, hashSize * hops));
        payload.CopyTo(packet.AsSpan(2 + hashSize * hops));

        var decoded = PacketDecoder.Decode(Convert.ToHexString(packet));
        return new GeneratedPacket(
            decoded.RawHex, decoded.Hash, routeType, payloadType,
            JsonSerializer.Serialize(decoded.Payload, PacketJson.Options),
            JsonSerializer.Serialize(decoded.StoredHops),
            decoded.Payload.PubKey);
    }

    private byte[] Bytes(int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private byte[] Advert(out int node)
    {
        node = random.Next(nodeKeys.Count);
        var name = Encoding.UTF8.GetBytes(nodeNames[node]);
        var advert = new byte[32 + 4 + 64 + 1 + 8 + name.Length];
        nodeKeys[node].CopyTo(advert, 0);
        BinaryPrimitives.WriteUInt32LittleEndian(advert.AsSpan(32), (uint)(1_760_000_000 + random.Next(3_000_000)));
        random.NextBytes(advert.AsSpan(36, 64));
        advert[100] = (byte)(0x90 | (1 + node % 4));
        BinaryPrimitives.WriteInt32LittleEndian(advert.AsSpan(101), (int)((37.0 + random.NextDouble()) * 1e6));
        BinaryPrimitives.WriteInt32LittleEndian(advert.AsSpan(105), (int)((-122.5 + random.NextDouble()) * 1e6));
        name.CopyTo(advert, 109);
        return advert;
    }

    private byte[] Trace()
    {
        var hops = random.Next(1, 8);
        var trace = new byte[9 + hops];
        random.NextBytes(trace);
        trace[8] = 0;
        return trace;
    }
}
