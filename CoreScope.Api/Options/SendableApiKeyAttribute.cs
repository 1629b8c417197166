using System.ComponentModel.DataAnnotations;

namespace CoreScope.Api.Options;

/// <summary>
/// Refuses, at start, a configured key that no HTTP client could ever present (see
/// <see cref="ApiKeyStrength.UnsendableReason"/>). Refused rather than trimmed: the server would otherwise accept a
/// secret other than the one configured, and the clients fed from the same file would still send the broken one.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class SendableApiKeyAttribute : ValidationAttribute
{
    protected override ValidationResult? IsValid(object? value, ValidationContext validationContext) =>
        value is string key && ApiKeyStrength.UnsendableReason(key) is { } reason
            ? new ValidationResult(
                $"CoreScope:ApiKey {reason}: no client could send it, so every request would get 401. Fix the value and restart.",
                [validationContext.MemberName ?? nameof(CoreScopeOptions.ApiKey)])
            : ValidationResult.Success;
}
