using System.Diagnostics.Metrics;

namespace CoreScope.Data.Diagnostics;

/// <summary>
/// The <c>CoreScope</c> meter every instrument of ours hangs on. It comes from the host's <see cref="IMeterFactory"/>
/// rather than a static <c>new Meter</c>, so each server (and each test's server) has its own instruments, which
/// are disposed with it; an exporter picks them up by the name <see cref="Name"/>.
/// </summary>
public sealed class CoreScopeMeter(IMeterFactory meterFactory)
{
    public const string Name = "CoreScope";

    public Meter Meter { get; } = meterFactory.Create(Name);
}
