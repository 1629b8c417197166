using System.Globalization;

namespace CoreScope.Data;

/// <summary>The timestamp text CoreScope stores: ISO-8601 UTC with milliseconds, which sorts as it reads.</summary>
public static class IsoTime
{
    public static string Format(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
