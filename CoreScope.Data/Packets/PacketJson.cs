using System.Text.Json;
using System.Text.Json.Serialization;

namespace CoreScope.Data.Packets;

/// <summary>How decoded packets are written to <c>decoded_json</c> and read back: camelCase, unset fields left out.</summary>
public static class PacketJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Parses stored JSON for a response; text the original or an older version stored badly is returned as null.</summary>
    public static JsonElement? ParseStored(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
