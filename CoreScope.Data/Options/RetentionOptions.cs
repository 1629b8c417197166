using System.ComponentModel.DataAnnotations;

namespace CoreScope.Data.Options;

/// <summary>How long packets and observers are kept (section <c>CoreScope:Retention</c>).</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "CoreScope:Retention";

    /// <summary>
    /// The default age in days for <c>POST /api/admin/prune</c> when the request names none; unset means the
    /// request must name one.
    /// </summary>
    [Range(1, 36_500)]
    public int? PacketDays { get; set; }

    /// <summary>Observers not heard for this many days are marked inactive by a prune.</summary>
    [Range(1, 36_500)]
    public int ObserverDays { get; set; } = 14;
}
