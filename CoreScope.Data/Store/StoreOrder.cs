using System.Text.Json;
using System.Text.Json.Serialization;

namespace CoreScope.Data.Store;

/// <summary>
/// Which stored backup is newer than which: the one owner of that order, for the store's list, local and offsite
/// retention and health's newest backup. A manifest's <c>createdAt</c> comes from the clock of the machine that made
/// it; a clock that jumped ahead, or a store restored from another machine, dates a backup in the future, and an order
/// by <c>createdAt</c> keeps that one "newest" until the clock catches up, so <c>KeepLast</c> deletes each new backup.
/// The order is therefore what the store observed: the <see cref="BackupManifest.Sequence"/> it wrote into each
/// manifest, counting up. Manifests of earlier versions have none and come after every one that has, by when their
/// file was written (<c>observedAt</c>); <c>createdAt</c> and the id only break what is left of a tie. Every time here is UTC.
/// </summary>
public static class StoreOrder
{
    /// <summary>The highest sequence: 2^53 − 1, the largest integer a JSON number keeps exactly in every reader (JavaScript's too).</summary>
    public const long MaxSequence = (1L << 53) - 1;

    /// <summary>How far past the server's clock a <c>createdAt</c> may be before the backup counts as dated in the future.</summary>
    public static readonly TimeSpan FutureTolerance = TimeSpan.FromMinutes(5);

    /// <summary>The manifest's sequence when it is one the store could have written (1 to <see cref="MaxSequence"/>); null otherwise.</summary>
    public static long? SequenceOf(BackupManifest manifest) => manifest.Sequence is >= 1 and <= MaxSequence ? manifest.Sequence : null;

    /// <summary>The sequence for a new manifest when <paramref name="highest"/> is the highest known (0: none); it stays at the bound.</summary>
    public static long Next(long highest) => highest >= MaxSequence ? MaxSequence : Math.Max(highest, 0) + 1;

    /// <summary>The highest sequence among <paramref name="manifests"/>, 0 when none has one.</summary>
    public static long Highest(IEnumerable<BackupManifest> manifests) => manifests.Select(manifest => SequenceOf(manifest) ?? 0).DefaultIfEmpty(0).Max();

    /// <summary>
    /// <paramref name="items"/> newest first. <paramref name="observedAt"/> is asked only for manifests without a sequence:
    /// when the store saw the backup written (its file's time), null when it cannot tell.
    /// </summary>
    public static List<T> NewestFirst<T>(IEnumerable<T> items, Func<T, BackupManifest> manifestOf, Func<T, DateTime?> observedAt) =>
        items
            .Select(item =>
            {
                var manifest = manifestOf(item);
                var sequence = SequenceOf(manifest);
                return (Item: item, Manifest: manifest, Sequence: sequence, ObservedAt: sequence is null ? observedAt(item) : null);
            })
            .OrderByDescending(entry => entry.Sequence.HasValue)
            .ThenByDescending(entry => entry.Sequence ?? 0)
            .ThenByDescending(entry => entry.ObservedAt.HasValue)
            .ThenByDescending(entry => entry.ObservedAt ?? DateTime.MinValue)
            .ThenByDescending(entry => entry.Manifest.CreatedAt)
            .ThenByDescending(entry => entry.Manifest.Id, StringComparer.Ordinal)
            .Select(entry => entry.Item)
            .ToList();

    /// <summary>Whether the backup's <c>createdAt</c> is later than <paramref name="now"/> by more than <see cref="FutureTolerance"/>.</summary>
    public static bool IsFutureDated(DateTime createdAt, DateTimeOffset now) => createdAt > (now + FutureTolerance).UtcDateTime;
}

/// <summary>
/// Reads a manifest's <c>sequence</c> so that an odd value (a fraction, text, a number beyond <see cref="StoreOrder.MaxSequence"/>)
/// means "no sequence" instead of making the whole manifest unreadable: the backup is still whole, only its place in the
/// order falls back to its file's time.
/// </summary>
public sealed class StoreSequenceConverter : JsonConverter<long?>
{
    public override long? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value is >= 1 and <= StoreOrder.MaxSequence)
        {
            return value;
        }

        reader.Skip();
        return null;
    }

    public override void Write(Utf8JsonWriter writer, long? value, JsonSerializerOptions options)
    {
        if (value is { } known)
        {
            writer.WriteNumberValue(known);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}
