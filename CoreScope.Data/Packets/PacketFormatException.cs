namespace CoreScope.Data.Packets;

/// <summary>The bytes are not a MeshCore packet; the message says what is wrong with them.</summary>
public sealed class PacketFormatException(string message) : InvalidInputException(message);
