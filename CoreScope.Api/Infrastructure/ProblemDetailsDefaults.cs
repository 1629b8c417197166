using Microsoft.AspNetCore.Http;

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

    private static string Describe(string field, string message) =>
        string.IsNullOrEmpty(field) || field == "$" || message.Contains(field, StringComparison.OrdinalIgnoreCase)
            ? message
            : $"{field}: {message}";
}
