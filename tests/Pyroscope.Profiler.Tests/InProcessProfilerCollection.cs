namespace Pyroscope.Profiler.Tests;

/// <summary>
/// Test classes that start a profiler on the test process itself. They run one after the other, so each test
/// measures only its own EventPipe sample-profiler session and its own threads.
/// </summary>
[CollectionDefinition(Name)]
public sealed class InProcessProfilerCollection
{
    public const string Name = "profilers on the test process";
}
