namespace CoreScope.Api.Options;

/// <summary>
/// Tells keys an attacker would try first from keys worth protecting a database with, and keys no HTTP client can
/// send from keys it can.
/// </summary>
public static class ApiKeyStrength
{
    public const int MinimumLength = 16;

    /// <summary>Different characters (ignoring case) a key needs: <c>aaaaaaaaaaaaaaaa</c> is long but one guess.</summary>
    public const int MinimumDistinctCharacters = 6;

    /// <summary>
    /// Characters a key needs once each common word and each run (<c>1234</c>, <c>abcd</c>, <c>zzzz</c>, <c>9876</c>)
    /// counts as one: <c>password12345678</c> is sixteen characters but two guesses.
    /// </summary>
    public const int MinimumEffectiveLength = 12;

    // The placeholders of the original's sample config and the words people type when asked for a secret.
    private static readonly HashSet<string> KnownWeakKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "your-secret-api-key-here", "change-me", "example", "test", "password",
        "admin", "apikey", "api-key", "secret", "default",
    };

    // Inside a key each of these counts as one character; the longest match wins.
    private static readonly string[] CommonWords =
    [
        "your-secret-api-key-here", "corescope", "changeme", "change-me", "password", "passw0rd", "iloveyou", "letmein",
        "welcome", "default", "example", "api-key", "apikey", "secret", "qwerty", "monkey", "dragon", "admin", "asdf",
        "zxcv", "test",
    ];

    /// <summary>Why a configured key is weak, or null when it is not; the reason never repeats the key.</summary>
    public static string? Weakness(string key)
    {
        if (key.Length < MinimumLength)
        {
            return $"shorter than {MinimumLength} characters";
        }

        if (KnownWeakKeys.Contains(key))
        {
            return "a well-known placeholder";
        }

        var lower = key.ToLowerInvariant();
        var distinct = lower.Distinct().Count();
        if (distinct < MinimumDistinctCharacters)
        {
            return $"only {distinct} different characters";
        }

        if (RepeatedUnitLength(lower) is { } unit)
        {
            return $"a {unit}-character pattern repeated";
        }

        if (EffectiveLength(lower) < MinimumEffectiveLength)
        {
            return "mostly common words and runs such as 1234, abcd or aaaa";
        }

        return null;
    }

    public static bool IsWeak(string key) => Weakness(key) is not null;

    /// <summary>
    /// Why no HTTP client could ever present the key, or null. HTTP trims spaces and tabs around header values and
    /// cannot carry line breaks, control characters or (in Kestrel) anything outside ASCII, so such a key gets 401
    /// whatever the client sends.
    /// </summary>
    public static string? UnsendableReason(string key)
    {
        if (key.Length > 0 && (char.IsWhiteSpace(key[0]) || char.IsWhiteSpace(key[^1])))
        {
            return "starts or ends with whitespace or a line break (a CR from a file saved on Windows?), which HTTP trims from header values";
        }

        if (key.Any(character => character is < ' ' or > '~'))
        {
            return "contains a control character or a character outside printable ASCII, which an HTTP header cannot carry";
        }

        return null;
    }

    // The length of the shortest unit the key repeats (changemechangeme: 8), when it repeats one at least twice.
    private static int? RepeatedUnitLength(string key)
    {
        for (var unit = 1; unit <= key.Length / 2; unit++)
        {
            var repeats = true;
            for (var index = unit; index < key.Length && repeats; index++)
            {
                repeats = key[index] == key[index % unit];
            }

            if (repeats)
            {
                return unit;
            }
        }

        return null;
    }

    private static int EffectiveLength(string key)
    {
        var count = 0;
        var index = 0;
        while (index < key.Length)
        {
            count++;
            var word = CommonWords.Where(candidate => key.AsSpan(index).StartsWith(candidate, StringComparison.Ordinal))
                .MaxBy(candidate => candidate.Length);
            index += word?.Length ?? RunLength(key, index);
        }

        return count;
    }

    // 1 for a lone character, or the length of a run of three or more with one step: aaa, abc, 987.
    private static int RunLength(string key, int start)
    {
        if (start + 2 >= key.Length)
        {
            return 1;
        }

        var step = key[start + 1] - key[start];
        if (step is < -1 or > 1 || key[start + 2] - key[start + 1] != step)
        {
            return 1;
        }

        var end = start + 2;
        while (end + 1 < key.Length && key[end + 1] - key[end] == step)
        {
            end++;
        }

        return end - start + 1;
    }
}
