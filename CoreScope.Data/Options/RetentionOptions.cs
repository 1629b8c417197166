using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>How long packets and observers are kept (section <c>CoreScope:Retention</c>).</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "CoreScope:Retention";

    /// <summary>The smallest age in days a setting or a prune request may name.</summary>
    public const int MinDays = 1;

    /// <summary>The largest age in days (a hundred years): the same limit for the settings and a prune's <c>days</c>.</summary>
    public const int MaxDays = 36_500;

    /// <summary>
    /// The default age in days for <c>POST /api/admin/prune</c> when the request names none; unset means the
    /// request must name one.
    /// </summary>
    [Range(MinDays, MaxDays)]
    public int? PacketDays { get; set; }

    /// <summary>Observers not heard for this many days are marked inactive by a prune.</summary>
    [Range(MinDays, MaxDays)]
    public int ObserverDays { get; set; } = 14;
}
