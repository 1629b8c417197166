using CoreScope.Data.Packets;

namespace CoreScope.Api.Packets;

public sealed record IngestResponse(long Id, long ObservationId, string Hash, bool IsNew, DecodedPacket Decoded);

public sealed record DecodeResponse(DecodedPacket Decoded, string Hash);
