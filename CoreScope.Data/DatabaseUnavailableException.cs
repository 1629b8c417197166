namespace CoreScope.Data;

/// <summary>
/// The database cannot take a write now (its file was deleted or replaced under the server); the message says why
/// and what to do, without naming server paths. Nothing of the refused write was stored.
/// </summary>
public sealed class DatabaseUnavailableException(string message) : Exception(message);
