namespace CoreScope.Api.Infrastructure;

/// <summary>What every ProblemDetails body of this server carries besides the standard members.</summary>
public static class ProblemDetailsDefaults
{
    /// <summary>
    /// CoreScope's own clients read <c>{"error": "..."}</c>; putting the same text into every ProblemDetails
    /// lets both kinds of client show the reason.
    /// </summary>
    public static void AddErrorMember(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var error = problem is HttpValidationProblemDetails { Errors.Count: > 0 } validation
            ? string.Join(" ", validation.Errors.SelectMany(pair => pair.Value.Select(message => Describe(pair.Key, message))))
            : problem.Detail ?? problem.Title ?? "Error";
        problem.Extensions["error"] = error;
    }

    // System.Text.Json's messages name CLR types and byte positions; say instead which member is wrong.
    private static string Describe(string field, string message)
    {
        var readable = message.Split(" Path: ", 2)[0];
        if (field == "$")
        {
            return "The body is not valid JSON: " + readable;
        }

        if (field.StartsWith("$.", StringComparison.Ordinal))
        {
            return $"{field[2..]} has a value of the wrong type or is not valid JSON.";
        }

        return string.IsNullOrEmpty(field) || readable.Contains(field, StringComparison.OrdinalIgnoreCase)
            ? readable
            : $"{field}: {readable}";
    }
}
