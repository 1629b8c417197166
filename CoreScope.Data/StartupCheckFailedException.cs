namespace CoreScope.Data;

/// <summary>
/// The server must not start as things are (a database that existed is missing, an unusable folder); the message
/// is one sentence for the operator, saying what was found and what to do.
/// </summary>
public sealed class StartupCheckFailedException(string message) : Exception(message);
