using System.Globalization;
using CoreScope.Data.Connections;
using CoreScope.Data.Options;
using Dapper;
using Microsoft.Extensions.Options;

namespace CoreScope.Data.Maintenance;

public sealed record PruneResult(long TransmissionsDeleted, long ObservationsDeleted, long ObserversMarkedInactive, int Days);

/// <summary>Deletes old packets and marks silent observers inactive, in one transaction on the writer.</summary>
public sealed class PruneService(DatabaseWriter writer, IOptions<RetentionOptions> options, TimeProvider timeProvider)
{
    /// <summary>The original's words when a prune has no age to go by; its clients show them as they are.</summary>
    public const string DaysRequiredMessage = "days parameter required (or set retention.packetDays in config)";

    /// <summary>What a <c>days</c> beyond <see cref="RetentionOptions.MaxDays"/> is told.</summary>
    public static string DaysOutOfRange(string days) =>
        $"days must be between {RetentionOptions.MinDays} and {RetentionOptions.MaxDays} (the limits of CoreScope:Retention:PacketDays); {days} is out of range.";

    private const string DeleteObservationsSql = """
        DELETE FROM observations WHERE transmission_id IN (SELECT id FROM transmissions WHERE first_seen < @cutoff);
        """;

    private const string DeleteTransmissionsSql = "DELETE FROM transmissions WHERE first_seen < @cutoff;";

    private const string MarkObserversInactiveSql = """
        UPDATE observers SET inactive = 1
        WHERE last_seen < @observerCutoff AND COALESCE(inactive, 0) = 0;
        """;

    /// <summary>
    /// Prunes packets older than <paramref name="days"/>, or than <c>CoreScope:Retention:PacketDays</c> when no
    /// days are given; throws <see cref="InvalidInputException"/> when neither is a number of days from
    /// <see cref="RetentionOptions.MinDays"/> to <see cref="RetentionOptions.MaxDays"/>.
    /// </summary>
    public Task<PruneResult> PruneAsync(int? days, CancellationToken cancellationToken)
    {
        var packetDays = days ?? options.Value.PacketDays;
        if (packetDays is not > 0)
        {
            throw new InvalidInputException(DaysRequiredMessage);
        }

        // Past the limit the cutoff date would fall before year 1, which DateTimeOffset cannot represent.
        if (packetDays > RetentionOptions.MaxDays)
        {
            throw new InvalidInputException(DaysOutOfRange(packetDays.Value.ToString(CultureInfo.InvariantCulture)));
        }

        var now = timeProvider.GetUtcNow();
        var cutoff = IsoTime.Format(now.AddDays(-packetDays.Value));
        var observerCutoff = IsoTime.Format(now.AddDays(-options.Value.ObserverDays));

        return writer.WriteAsync(async (connection, transaction, token) =>
        {
            var observations = await connection.ExecuteAsync(new CommandDefinition(DeleteObservationsSql, new { cutoff }, transaction, cancellationToken: token));
            var transmissions = await connection.ExecuteAsync(new CommandDefinition(DeleteTransmissionsSql, new { cutoff }, transaction, cancellationToken: token));
            var observers = await connection.ExecuteAsync(new CommandDefinition(MarkObserversInactiveSql, new { observerCutoff }, transaction, cancellationToken: token));
            return new PruneResult(transmissions, observations, observers, packetDays.Value);
        }, cancellationToken);
    }
}
