using System.Net.Sockets;
using System.Text.Json;
using System.Xml;
using Amazon.Runtime;
using Azure;

namespace CoreScope.Data.Offsite;

/// <summary>
/// The one answer to "did the target fail, or did we?" for an exception out of a call to a target. The target's:
/// what the network or the service did (refused or dropped connections, a timeout that is not our own cancellation,
/// the SDKs' service errors) and an answer that cannot be read (XML or JSON cut off, an HTML page, a checksum that
/// does not match): those are retried with the uploader's backoff and reported as the target's. Ours: a bug or a
/// misuse (an argument, a disposed client, an operation in the wrong state in our code), which no retry fixes and
/// which must reach the log as the bug it is.
/// </summary>
public static class OffsiteFailures
{
    /// <summary>Whether <paramref name="exception"/> is the target's failure; never when <paramref name="cancellationToken"/> asked to stop.</summary>
    public static bool IsTargetFailure(Exception exception, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return false;
        }

        return exception switch
        {
            OffsiteTargetException => true,

            // Ours, even where the SDK throws them: a client used after its end, an argument it refused.
            ObjectDisposedException or ArgumentException or NotSupportedException or NotImplementedException => false,
            AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(inner => IsTargetFailure(inner, cancellationToken)),

            // The network and the service: AWSSDK's and Azure's own errors, the connection, and a timeout, which the
            // SDKs throw as TimeoutException or as a cancellation of a token that is not ours.
            AmazonServiceException or AmazonClientException or RequestFailedException => true,
            HttpRequestException or SocketException or IOException or TimeoutException or OperationCanceledException => true,

            // An answer that is not the service's: cut off, an HTML page, a range whose checksum does not match.
            XmlException or JsonException or FormatException or InvalidDataException => true,

            // The SDKs read an unexpected answer with a null or a cast where they expected an element; thrown from
            // their own code, that is the answer's fault. From ours, it is a bug.
            NullReferenceException or InvalidCastException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException =>
                ThrownBySdk(exception),
            _ => false,
        };
    }

    /// <summary>A timeout: the target took longer than <c>RequestTimeoutSeconds</c> to answer.</summary>
    public static bool IsTimeout(Exception exception) => exception switch
    {
        TimeoutException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsTimeout),
        OperationCanceledException => true,
        _ => exception.InnerException is { } inner && IsTimeout(inner),
    };

    /// <summary>An answer that could not be read: not a storage service's answer, or one whose checksum does not match.</summary>
    public static bool IsUnreadableAnswer(Exception exception) => exception switch
    {
        XmlException or JsonException or FormatException or InvalidDataException => true,
        NullReferenceException or InvalidCastException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException => ThrownBySdk(exception),
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsUnreadableAnswer),
        _ => exception.InnerException is { } inner && IsUnreadableAnswer(inner),
    };

    /// <summary>
    /// What the operator reads for a target failure that is no service error: the target (as <paramref name="description"/>),
    /// whether it did not answer in time, answered something unreadable, or could not be reached, and the innermost reason.
    /// </summary>
    public static string Explain(string description, Exception exception, string innermost) =>
        IsUnreadableAnswer(exception)
            ? $"{description} answered something that is not a storage service's answer ({innermost}); a proxy or portal in between, or a damaged transfer"
            : IsTimeout(exception)
                ? $"{description} did not answer in time ({innermost}); CoreScope:Offsite:RequestTimeoutSeconds sets the limit"
                : $"{description} could not be reached: {innermost}";

    private static bool ThrownBySdk(Exception exception)
    {
        var assembly = exception.TargetSite?.DeclaringType?.Assembly.GetName().Name ?? "";
        return assembly.StartsWith("AWSSDK.", StringComparison.Ordinal) || assembly.StartsWith("Azure.", StringComparison.Ordinal);
    }
}
