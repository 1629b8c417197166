namespace CoreScope.Api.Tests.Infrastructure;

/// <summary>Reads the error bodies the server sends: ProblemDetails with an <c>error</c> member.</summary>
public static class ProblemResponses
{
    /// <summary>The <c>error</c> member, the reason CoreScope clients show.</summary>
    public static async Task<string> ErrorMemberAsync(this HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return document.RootElement.GetProperty("error").GetString()!;
    }
}
