namespace Pyroscope.Profiler.Tests;

/// <summary>
/// Test classes that profile a workload and compare what was sampled with what the workload did: a profiler on the
/// test process itself, or on a workload process of their own. They run one after the other, so each test measures
/// only its own EventPipe session and its own threads, and no other workload of this assembly competes for the two
/// cores while a sampler is measured (four consecutive CI runs each failed one such test when they ran together).
/// </summary>
[CollectionDefinition(Name)]
public sealed class InProcessProfilerCollection
{
    public const string Name = "profilers on the test process";
}
