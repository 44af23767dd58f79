namespace Pyroscope.Profiler.Tests;

/// <summary>
/// Test classes that start a profiler on the test process itself. They run one after the other: two
/// EventPipe sample-profiler sessions in one process at once changed what each of them measured (the
/// duty-cycle scaling test saw about twice the burner thread's wall time while the self-profiling test ran).
/// </summary>
[CollectionDefinition(Name)]
public sealed class InProcessProfilerCollection
{
    public const string Name = "profilers on the test process";
}
