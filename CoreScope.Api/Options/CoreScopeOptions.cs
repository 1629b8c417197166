namespace CoreScope.Api.Options;

/// <summary>Server-wide settings (section <c>CoreScope</c>).</summary>
public sealed class CoreScopeOptions
{
    public const string SectionName = "CoreScope";

    /// <summary>
    /// The admin key clients send in <c>X-API-Key</c>. Empty disables every admin endpoint; a weak key is
    /// refused with 403 (see <see cref="ApiKeyStrength"/>); one no client could send stops the server at start.
    /// </summary>
    [SendableApiKey]
    public string? ApiKey { get; set; }
}
