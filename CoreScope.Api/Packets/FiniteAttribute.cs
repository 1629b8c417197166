using System.ComponentModel.DataAnnotations;

namespace CoreScope.Api.Packets;

/// <summary>
/// Refuses infinities and NaN. JSON parsing turns <c>1e400</c> into infinity; stored, such a value can never be
/// written out again as JSON, so every later read of that packet would fail.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class FiniteAttribute : ValidationAttribute
{
    public override bool IsValid(object? value) => value switch
    {
        null => true,
        double number => double.IsFinite(number),
        float number => float.IsFinite(number),
        _ => false,
    };
}
