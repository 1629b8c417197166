namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>Raw packets of the worked examples in docs/meshcore/PACKETS.md, for every test that needs a real one.</summary>
public static class SamplePackets
{
    /// <summary>DIRECT TXT_MSG, no hops; destHash d6, srcHash 9f, mac d7a5.</summary>
    public const string DirectTextMessage = "0A00D69FD7A5A7475DB07337749AE61FA53A4788E976";

    /// <summary>FLOOD TRACE whose header path is two SNR bytes.</summary>
    public const string FloodTrace = "2502AABBDEADBEEF";

    /// <summary>DIRECT TRACE: four SNR bytes in the header path, the hops 67 33 D6 33 67 in the payload.</summary>
    public const string DirectTrace = "2604302D0D2359FEE7B100000000006733D63367";

    /// <summary>TRANSPORT_FLOOD GRP_TXT with codes AABB and CCDD, no hops.</summary>
    public const string TransportFloodGroupText = "14AABBCCDD0000000000000000000000";

    /// <summary>FLOOD REQ over one hop, 8A; destHash 8b, srcHash 1f.</summary>
    public const string FloodRequest = "01018A8B1FBAB57ED09E4353A8D95FED574CC11171D585";

    /// <summary>FLOOD ADVERT of the repeater "Kpa Roof Solar" (key 8a91f899…2fd5, with a location) over five 2-byte hops.</summary>
    public const string Advert =
        "11451000D818206D3AAC152C8A91F89957E6D30CA51F36E28790228971C473B755F244F718754CF5EE4A2FD58D944466E42CDED140C66D0CC590183E32BAF40F112BE8F3F2BDF6012B4B2793C52F1D36F69EE054D9A05593286F78453E56C0EC4A3EB95DDA2A7543FCCC00B939CACC009278603902FC12BCF84B706120526F6F6620536F6C6172";
}
