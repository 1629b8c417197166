using System.Globalization;
using CoreScope.Data;

namespace CoreScope.Api.Infrastructure;

/// <summary>
/// Whole numbers in a query string, read strictly. The framework's binder goes through Int32Converter, which reads
/// <c>limit=0x10</c> as 16 and <c>#10</c> likewise; here only an optional minus sign and decimal digits are a number.
/// </summary>
public static class QueryNumbers
{
    /// <summary>Null when absent; a value out of int's range is clamped, so the caller's range check reports it.</summary>
    public static int? Parse(string? value, string name)
    {
        if (value is null)
        {
            return null;
        }

        var digits = value.StartsWith('-') ? value[1..] : value;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
        {
            throw new InvalidInputException($"{name} must be a whole number written in decimal digits; \"{value}\" is not.");
        }

        return int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? number
            : value.StartsWith('-') ? int.MinValue
            : int.MaxValue;
    }
}
