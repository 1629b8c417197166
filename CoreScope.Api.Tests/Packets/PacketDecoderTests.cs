using CoreScope.Data.Packets;

namespace CoreScope.Api.Tests.Packets;

/// <summary>The worked examples of docs/meshcore/PACKETS.md, decoded on bytes alone.</summary>
public sealed class PacketDecoderTests
{
    [TestCase(SamplePackets.DirectTextMessage, "b1f07307cbc01ce5")]
    [TestCase(SamplePackets.FloodTrace, "b1baaf3bf0d0726c")]
    [TestCase(SamplePackets.DirectTrace, "af081a2c41281b1e")]
    [TestCase(SamplePackets.TransportFloodGroupText, "53472e0137debf74")]
    [TestCase(SamplePackets.FloodRequest, "db884700fb37821d")]
    [TestCase(SamplePackets.Advert, "4df1ec064da2ac27")]
    public void Decode_WorkedExample_HasExpectedHash(string hex, string hash)
    {
        PacketDecoder.Decode(hex).Hash.Should().Be(hash);
        PacketDecoder.Decode(hex.ToLowerInvariant()).Hash.Should().Be(hash, "case does not change the bytes");
    }

    [Test]
    public void Decode_DirectTextMessage()
    {
        var packet = PacketDecoder.Decode(SamplePackets.DirectTextMessage);

        packet.Header.Should().Be(new PacketHeader(2, "DIRECT", 2, "TXT_MSG", 0));
        packet.TransportCodes.Should().BeNull();
        packet.Path.Hops.Should().BeEmpty();
        packet.Payload.DestHash.Should().Be("d6");
        packet.Payload.SrcHash.Should().Be("9f");
        packet.Payload.Mac.Should().Be("d7a5");
        packet.StoredHops.Should().BeEmpty();
    }

    [Test]
    public void Decode_FloodTrace_HeaderPathIsTwoSnrBytes()
    {
        var packet = PacketDecoder.Decode(SamplePackets.FloodTrace);

        packet.Header.RouteTypeName.Should().Be("FLOOD");
        packet.Header.PayloadTypeName.Should().Be("TRACE");
        packet.Path.HashCount.Should().Be(2);
        packet.Path.Hops.Should().Equal("AA", "BB");
    }

    [Test]
    public void Decode_DirectTrace_StoresPayloadHopsNotSnrBytes()
    {
        var packet = PacketDecoder.Decode(SamplePackets.DirectTrace);

        packet.Header.RouteTypeName.Should().Be("DIRECT");
        packet.Path.Hops.Should().Equal("30", "2D", "0D", "23");
        packet.Payload.Tag.Should().Be(0xB1E7FE59);
        packet.Payload.AuthCode.Should().Be(0);
        packet.Payload.TraceFlags.Should().Be(0);
        packet.Payload.Hops.Should().Equal("67", "33", "D6", "33", "67");
        packet.StoredHops.Should().Equal("67", "33", "D6", "33", "67");
    }

    [Test]
    public void Decode_TransportFloodGroupText_HasTransportCodes()
    {
        var packet = PacketDecoder.Decode(SamplePackets.TransportFloodGroupText);

        packet.Header.Should().Be(new PacketHeader(0, "TRANSPORT_FLOOD", 5, "GRP_TXT", 0));
        packet.TransportCodes.Should().Be(new TransportCodes("AABB", "CCDD"));
        packet.Path.Hops.Should().BeEmpty();
        packet.Payload.ChannelHash.Should().Be(0);
        packet.Payload.EncryptedData.Should().Be("00000000000000", "10 payload bytes: channel hash, 2-byte MAC, 7 bytes of ciphertext");
    }

    [Test]
    public void Decode_FloodRequest_OneHop()
    {
        var packet = PacketDecoder.Decode(SamplePackets.FloodRequest);

        packet.Header.Should().Be(new PacketHeader(1, "FLOOD", 0, "REQ", 0));
        packet.Path.Hops.Should().Equal("8A");
        packet.Payload.DestHash.Should().Be("8b");
        packet.Payload.SrcHash.Should().Be("1f");
    }

    [Test]
    public void Decode_Advert_HasKeyTimestampRoleLocationAndName()
    {
        var packet = PacketDecoder.Decode(SamplePackets.Advert);

        packet.Header.Should().Be(new PacketHeader(1, "FLOOD", 4, "ADVERT", 0));
        packet.Path.HashSize.Should().Be(2);
        packet.Path.Hops.Should().Equal("1000", "D818", "206D", "3AAC", "152C");
        packet.Payload.PubKey.Should().StartWith("8a91f899").And.EndWith("2fd5").And.HaveLength(64);
        packet.Payload.Timestamp.Should().Be(1715770509);
        packet.Payload.Flags!.Raw.Should().Be(0x92);
        packet.Payload.Flags.Repeater.Should().BeTrue();
        packet.Payload.Flags.HasLocation.Should().BeTrue();
        packet.Payload.Flags.HasName.Should().BeTrue();
        packet.Payload.Role.Should().Be("repeater");
        packet.Payload.Lat.Should().BeApproximately(37.31468, 1e-9);
        packet.Payload.Lon.Should().BeApproximately(-121.8921, 1e-9);
        packet.Payload.Name.Should().Be("Kpa Roof Solar");
    }

    [TestCase("", "empty")]
    [TestCase("0G", "not hexadecimal")]
    [TestCase("0A0", "odd number")]
    [TestCase("0A", "path-length byte")]
    [TestCase("14AABB", "transport codes")]
    [TestCase("0A02AA", "past the end")]
    public void Decode_Malformed_SaysWhatIsWrong(string hex, string reason)
    {
        var decode = () => PacketDecoder.Decode(hex);

        decode.Should().Throw<PacketFormatException>().WithMessage($"*{reason}*");
    }

    [Test]
    public void Decode_OverMaximumSize_IsRejected()
    {
        var decode = () => PacketDecoder.Decode("0A00" + new string('0', 2 * 511));

        decode.Should().Throw<PacketFormatException>().WithMessage("*too large*513*");
    }
}
