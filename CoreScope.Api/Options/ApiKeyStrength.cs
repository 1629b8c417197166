namespace CoreScope.Api.Options;

/// <summary>Tells keys an attacker would try first from keys worth protecting a database with.</summary>
public static class ApiKeyStrength
{
    public const int MinimumLength = 16;

    // The placeholders of the original's sample config and the words people type when asked for a secret.
    private static readonly HashSet<string> KnownWeakKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "your-secret-api-key-here", "change-me", "example", "test", "password",
        "admin", "apikey", "api-key", "secret", "default",
    };

    public static bool IsWeak(string key) => key.Length < MinimumLength || KnownWeakKeys.Contains(key);
}
