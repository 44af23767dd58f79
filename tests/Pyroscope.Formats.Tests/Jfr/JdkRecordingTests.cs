using Pyroscope.Formats.Jfr;
using static Pyroscope.Formats.Tests.Jfr.JfrTestSupport;

namespace Pyroscope.Formats.Tests.Jfr;

/// <summary>Real JDK 17 recordings, decoded independently by the JDK's own <c>jfr</c> tool.</summary>
public sealed class JdkRecordingTests
{
    private static readonly JfrConvertOptions Options = new()
    {
        StartTimeUnixNanos = 1_700_000_000_000_000_000,
        EndTimeUnixNanos = 1_700_000_010_000_000_000,
        SampleRate = 100,
    };

    private const long Period = 10_000_000; // 1e9 / SampleRate

    [Fact]
    public void Cpu_samples_match_the_jdk_tool_stack_by_stack()
    {
        var path = SharedFixture("jfr/jdk17-cpu-alloc.jfr");
        var expected = new Dictionary<string, long>();
        var events = PrintEvents(path, "jdk.ExecutionSample").Where(e => e.Stack.Length > 0).ToList();
        foreach (var e in events)
        {
            if (e.Values.GetProperty("state").GetString() != "STATE_SLEEPING")
            {
                expected[e.Stack] = expected.GetValueOrDefault(e.Stack) + 1;
            }
        }

        var result = JfrConverter.Convert(File.ReadAllBytes(path), [], Options);

        var cpu = Assert.Single(result, p => p.Type.Id == "process_cpu:cpu:nanoseconds:cpu:nanoseconds");
        Assert.Equal(0, cpu.ExtraLabels.Count);
        var actual = Collapsed(cpu.Pprof).ToDictionary(kv => kv.Key, kv => kv.Value / Period);
        Assert.True(events.Count > 100, "the fixture holds hundreds of execution samples");
        Assert.Equal(events.Count, actual.Values.Sum());
        Assert.True(expected.OrderBy(kv => kv.Key).SequenceEqual(actual.OrderBy(kv => kv.Key)), Describe(expected, actual));
        Assert.Equal(Period, cpu.Pprof.Period);
        Assert.Equal(Options.StartTimeUnixNanos, cpu.Pprof.TimeNanos);
        Assert.Equal(10_000_000_000, cpu.Pprof.DurationNanos);
    }

    [Fact]
    public void Allocation_samples_match_the_jdk_tool_per_top_frame()
    {
        var path = SharedFixture("jfr/jdk17-cpu-alloc.jfr");
        var expectedCount = new Dictionary<string, long>();
        var expectedBytes = new Dictionary<string, long>();
        // Upstream drops events recorded without a stack trace.
        var events = PrintEvents(path, "jdk.ObjectAllocationSample").Where(e => e.Stack.Length > 0).ToList();
        foreach (var e in events)
        {
            var top = TopFrame(e.Stack);
            expectedCount[top] = expectedCount.GetValueOrDefault(top) + 1;
            expectedBytes[top] = expectedBytes.GetValueOrDefault(top) + e.Values.GetProperty("weight").GetInt64();
        }

        var result = JfrConverter.Convert(File.ReadAllBytes(path), [], Options);

        var objects = Assert.Single(result, p => p.Type.Id == "memory:alloc_sample_objects:count:space:bytes");
        var bytes = Assert.Single(result, p => p.Type.Id == "memory:alloc_sample_bytes:bytes:space:bytes");
        var actualCount = ByTopFrame(Collapsed(objects.Pprof));
        var actualBytes = ByTopFrame(Collapsed(bytes.Pprof));
        Assert.True(events.Count > 100);
        Assert.True(expectedCount.OrderBy(kv => kv.Key).SequenceEqual(actualCount.OrderBy(kv => kv.Key)), Describe(expectedCount, actualCount));
        Assert.Equal(events.Count, actualCount.Values.Sum());
        Assert.True(expectedBytes.OrderBy(kv => kv.Key).SequenceEqual(actualBytes.OrderBy(kv => kv.Key)), Describe(expectedBytes, actualBytes));
    }

    [Fact]
    public void Every_profile_has_one_sample_type_and_a_well_formed_symbol_table()
    {
        var result = JfrConverter.Convert(File.ReadAllBytes(SharedFixture("jfr/jdk17-cpu-alloc.jfr")), [], Options);

        Assert.Equal(
            ["memory:alloc_sample_bytes:bytes:space:bytes", "memory:alloc_sample_objects:count:space:bytes", "process_cpu:cpu:nanoseconds:cpu:nanoseconds"],
            result.Select(p => p.Type.Id).Order(StringComparer.Ordinal));
        foreach (var profile in result)
        {
            var pprof = profile.Pprof;
            Assert.Single(pprof.SampleType);
            Assert.Equal("", pprof.StringTable[0]);
            Assert.Equal(profile.Type.SampleType, pprof.StringTable[(int)pprof.SampleType[0].Type]);
            Assert.Equal(profile.Type.SampleUnit, pprof.StringTable[(int)pprof.SampleType[0].Unit]);
            Assert.Equal(profile.Type.PeriodType, pprof.StringTable[(int)pprof.PeriodType.Type]);
            Assert.Equal(Enumerable.Range(1, pprof.Location.Count).Select(i => (ulong)i), pprof.Location.Select(l => l.Id));
            Assert.Equal(Enumerable.Range(1, pprof.Function.Count).Select(i => (ulong)i), pprof.Function.Select(f => f.Id));
            Assert.All(pprof.Sample, s => Assert.All(s.LocationId, id => Assert.InRange(id, 1UL, (ulong)pprof.Location.Count)));
        }
        // Names as upstream: package/Class.method, no descriptor.
        var cpu = result.Single(p => p.Type.Name == "process_cpu").Pprof;
        Assert.Contains(cpu.Function, f => cpu.StringTable[(int)f.Name] == "java/util/Arrays.sort");
        // A JDK recording has no async-profiler "event" setting.
        Assert.Equal("", result.JfrEvent);
    }

    [Fact]
    public void Monitor_and_park_events_become_mutex_and_block_profiles()
    {
        var path = LocalFixture("jdk17-contention.jfr");
        var result = JfrConverter.Convert(File.ReadAllBytes(path), [], Options);
        var events = PrintEvents(path, "jdk.JavaMonitorEnter", "jdk.ThreadPark");

        foreach (var (eventType, metric) in new[] { ("jdk.JavaMonitorEnter", "mutex"), ("jdk.ThreadPark", "block") })
        {
            var expectedCount = new Dictionary<string, long>();
            var expectedNanos = new Dictionary<string, long>();
            var matching = events.Where(e => e.Type == eventType).ToList();
            Assert.NotEmpty(matching);
            foreach (var e in matching)
            {
                expectedCount[e.Stack] = expectedCount.GetValueOrDefault(e.Stack) + 1;
                expectedNanos[e.Stack] = expectedNanos.GetValueOrDefault(e.Stack) + DurationNanos(e.Values.GetProperty("duration").GetString()!);
            }

            var contentions = Assert.Single(result, p => p.Type.Id == $"{metric}:contentions:count:{metric}:count");
            var delay = Assert.Single(result, p => p.Type.Id == $"{metric}:delay:nanoseconds:{metric}:count");
            var actualCount = Collapsed(contentions.Pprof);
            var actualNanos = Collapsed(delay.Pprof);
            Assert.True(expectedCount.OrderBy(kv => kv.Key).SequenceEqual(actualCount.OrderBy(kv => kv.Key)), Describe(expectedCount, actualCount));
            Assert.Equal(expectedNanos.Keys.Order(), actualNanos.Keys.Order());
            foreach (var (stack, nanos) in expectedNanos)
            {
                // The tool prints durations as ISO-8601 with nanosecond digits; allow rounding of 1 µs per event.
                Assert.InRange(actualNanos[stack], nanos - 1000 * expectedCount[stack], nanos + 1000 * expectedCount[stack]);
            }
        }
        Assert.Contains(result, p => p.Type.Id == "memory:alloc_in_new_tlab_objects:count:space:bytes");
        Assert.Contains(result, p => p.Type.Id == "memory:alloc_in_new_tlab_bytes:bytes:space:bytes");
    }

    private static Dictionary<string, long> ByTopFrame(Dictionary<string, long> collapsed)
    {
        var result = new Dictionary<string, long>();
        foreach (var (stack, value) in collapsed)
        {
            var top = TopFrame(stack);
            result[top] = result.GetValueOrDefault(top) + value;
        }
        return result;
    }

    private static long DurationNanos(string iso) => (long)(System.Xml.XmlConvert.ToTimeSpan(iso).Ticks * 100L);
}
