namespace CoreScope.Data;

/// <summary>A request's values cannot be used (out of range, malformed); the message says what to send instead.</summary>
public class InvalidInputException(string message) : Exception(message);
