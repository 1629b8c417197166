using System.Diagnostics.Metrics;

namespace CoreScope.Data.Diagnostics;

/// <summary>
/// Counts ingested packets by what became of them (<c>corescope_ingest_packets_total{outcome}</c>): <c>new</c> (a
/// transmission not seen before), <c>known</c> (another observer's report of a known one), <c>rejected</c>
/// (malformed, a 400) and <c>failed</c> (the database refused it).
/// </summary>
public sealed class IngestCounters
{
    private readonly Counter<long> _packets;

    public IngestCounters(CoreScopeMeter meter)
    {
        _packets = meter.Meter.CreateCounter<long>("corescope.ingest.packets", description: "Packets reported for ingest, by what became of them.");

        // Each outcome exists from the start at 0, so rate() and increase() see the first one.
        foreach (var outcome in (string[])["new", "known", "rejected", "failed"])
        {
            _packets.Add(0, new KeyValuePair<string, object?>("outcome", outcome));
        }
    }

    public void New() => _packets.Add(1, new KeyValuePair<string, object?>("outcome", "new"));

    public void Known() => _packets.Add(1, new KeyValuePair<string, object?>("outcome", "known"));

    public void Rejected() => _packets.Add(1, new KeyValuePair<string, object?>("outcome", "rejected"));

    public void Failed() => _packets.Add(1, new KeyValuePair<string, object?>("outcome", "failed"));
}
