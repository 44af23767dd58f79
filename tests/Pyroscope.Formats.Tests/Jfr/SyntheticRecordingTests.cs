using System.Diagnostics;
using Pyroscope.Formats.Jfr;
using static Pyroscope.Formats.Tests.Jfr.JfrTestSupport;
using Buf = Pyroscope.Formats.Tests.Jfr.SyntheticJfrWriter.Buf;
using Class = Pyroscope.Formats.Tests.Jfr.SyntheticJfrWriter.Class;
using Field = Pyroscope.Formats.Tests.Jfr.SyntheticJfrWriter.Field;

namespace Pyroscope.Formats.Tests.Jfr;

/// <summary>
/// async-profiler event types (wall clock, TLAB allocations, monitors, parks, live objects, malloc) with context
/// ids, every string encoding and struct skipping, in a recording written by the test with known contents.
/// </summary>
public sealed class SyntheticRecordingTests
{
    private const long Long = 1, Int = 2, Boolean = 3, String = 4, Float = 5, Double = 6;
    private const long Symbol = 10, ClassType = 11, Method = 12, StackFrame = 13, StackTrace = 14, ThreadState = 15, Point = 16;
    private const long Execution = 20, WallClock = 21, InNewTlab = 22, OutsideTlab = 23, MonitorEnter = 24, ThreadPark = 25, LiveObject = 26, Malloc = 27, Setting = 28;
    private const long Deep = 30;

    private const string Stack1 = "java/lang/Thread.run;com/example/Worker.run;com/example/Café.compute";
    // One frame's method is missing; Collapsed() writes lambda classes canonically (…$$Lambda).
    private const string Stack2 = "java/lang/Thread.run;com/example/App$$Lambda.lambda$main$0";
    private const string Stack3 = "java/lang/Thread.run;com/example/Worker.run";
    private const long Period = 10_000_000;

    [Fact]
    public void Every_event_type_becomes_its_profiles_with_context_labels()
    {
        var result = JfrConverter.Convert(Recording(), LabelsSnapshot(), new JfrConvertOptions { SampleRate = 100 });

        var actual = result.ToDictionary(p => $"{p.Type.Id} {p.ExtraLabels}", p => Collapsed(p.Pprof));
        var alice = "{user=\"alice\"}";
        var bob = "{user=\"bob\"}";
        var expected = new Dictionary<string, Dictionary<string, long>>
        {
            [$"process_cpu:cpu:nanoseconds:cpu:nanoseconds {alice}"] = new() { [Stack1] = 3 * Period },
            [$"process_cpu:cpu:nanoseconds:cpu:nanoseconds {bob}"] = new() { [Stack3] = Period },
            [$"wall:wall:nanoseconds:wall:nanoseconds {alice}"] = new() { [Stack1] = 3 * Period },
            ["wall:wall:nanoseconds:wall:nanoseconds {}"] = new() { [Stack2] = 2 * Period, [Stack3] = 5 * Period },
            [$"wall:wall:nanoseconds:wall:nanoseconds {bob}"] = new() { [Stack3] = Period },
            [$"memory:alloc_in_new_tlab_objects:count:space:bytes {alice}"] = new() { [Stack1] = 2 },
            [$"memory:alloc_in_new_tlab_bytes:bytes:space:bytes {alice}"] = new() { [Stack1] = 8192 },
            ["memory:alloc_outside_tlab_objects:count:space:bytes {}"] = new() { [Stack3] = 1 },
            ["memory:alloc_outside_tlab_bytes:bytes:space:bytes {}"] = new() { [Stack3] = 1_000_000 },
            [$"mutex:contentions:count:mutex:count {bob}"] = new() { [Stack1] = 1 },
            [$"mutex:delay:nanoseconds:mutex:count {bob}"] = new() { [Stack1] = 250_000 }, // 250 ticks at 1 MHz
            ["block:contentions:count:block:count {}"] = new() { [Stack3] = 1 },
            ["block:delay:nanoseconds:block:count {}"] = new() { [Stack3] = 1_000_000 },
            ["memory:live:count:objects:count {}"] = new() { [Stack2] = 1 },
            ["memory:malloc_objects:count:: {}"] = new() { [Stack1] = 1 },
            ["memory:malloc_bytes:bytes:: {}"] = new() { [Stack1] = 64 },
        };
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (key, stacks) in expected)
        {
            Assert.True(stacks.OrderBy(kv => kv.Key).SequenceEqual(actual[key].OrderBy(kv => kv.Key)), key + "\n" + Describe(stacks, actual[key]));
        }
        Assert.Equal("wall", result.JfrEvent);
    }

    [Fact]
    public void Line_numbers_and_dropped_frames_are_kept_as_upstream()
    {
        var result = JfrConverter.Convert(Recording(), LabelsSnapshot(), new JfrConvertOptions());
        var live = result.Single(p => p.Type.SampleType == "live").Pprof;

        var sample = Assert.Single(live.Sample);
        Assert.Equal([5L, 10L], sample.LocationId.Select(id => live.Location[(int)id - 1].Line.Single().Line_));
        var leaf = live.Location[(int)sample.LocationId[0] - 1].Line.Single().FunctionId;
        Assert.Equal("com/example/App$$Lambda_.lambda$main$0", live.StringTable[(int)live.Function[(int)leaf - 1].Name]);
    }

    [Fact]
    public void Empty_structs_nested_deeply_are_skipped_in_constant_time()
    {
        var watch = Stopwatch.StartNew();
        var result = JfrConverter.Convert(Recording(), LabelsSnapshot(), new JfrConvertOptions());
        Assert.NotEmpty(result);
        // 200^4 nested empty structs per pool entry: without the guard this takes minutes.
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    private static byte[] LabelsSnapshot()
    {
        // LabelsSnapshot { contexts = {7: {labels {1: 2}}, 8: {labels {1: 3}}}, strings = {1: "user", 2: "alice", 3: "bob"} }
        static byte[] Message(int field, byte[] body) => new Buf().VarLong((field << 3) | 2).VarLong(body.Length).Bytes(body).ToArray();
        static byte[] Context(long id, long name, long value)
        {
            var labelEntry = new Buf().VarLong(1 << 3).VarLong(name).VarLong(2 << 3).VarLong(value).ToArray();
            var context = Message(1, labelEntry);
            return Message(1, new Buf().VarLong(1 << 3).VarLong(id).Bytes(Message(2, context)).ToArray());
        }
        static byte[] Str(long id, string text)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(text);
            return Message(2, new Buf().VarLong(1 << 3).VarLong(id).VarLong((2 << 3) | 2).VarLong(bytes.Length).Bytes(bytes).ToArray());
        }
        return [.. Context(7, 1, 2), .. Context(8, 1, 3), .. Str(1, "user"), .. Str(2, "alice"), .. Str(3, "bob")];
    }

    private static byte[] Recording()
    {
        var w = new SyntheticJfrWriter { TicksPerSecond = 1_000_000 };
        foreach (var (id, name) in new[] { (Long, "long"), (Int, "int"), (Boolean, "boolean"), (String, "java.lang.String"), (Float, "float"), (Double, "double") })
        {
            w.Define(new Class(id, name));
        }
        w.Define(new Class(Symbol, "jdk.types.Symbol", new Field("string", String)));
        w.Define(new Class(ClassType, "java.lang.Class", new Field("name", Symbol, Pool: true), new Field("hidden", Boolean)));
        w.Define(new Class(Method, "jdk.types.Method", new Field("type", ClassType, Pool: true), new Field("name", Symbol, Pool: true), new Field("descriptor", Symbol, Pool: true)));
        w.Define(new Class(Point, "custom.Point", new Field("x", Float), new Field("y", Double), new Field("label", String), new Field("tags", Int, Array: true)));
        // A struct field in frames forces the general (non-varint) frame path.
        w.Define(new Class(StackFrame, "jdk.types.StackFrame", new Field("method", Method, Pool: true), new Field("lineNumber", Int), new Field("where", Point), new Field("bytecodeIndex", Int)));
        w.Define(new Class(StackTrace, "jdk.types.StackTrace", new Field("truncated", Boolean), new Field("frames", StackFrame, Array: true)));
        w.Define(new Class(ThreadState, "jdk.types.ThreadState", new Field("name", String)));
        w.Define(new Class(Execution, "jdk.ExecutionSample", new Field("startTime", Long), new Field("stackTrace", StackTrace, Pool: true), new Field("state", ThreadState, Pool: true), new Field("contextId", Long)));
        w.Define(new Class(WallClock, "profiler.WallClockSample", new Field("startTime", Long), new Field("stackTrace", StackTrace, Pool: true), new Field("samples", Int)));
        w.Define(new Class(InNewTlab, "jdk.ObjectAllocationInNewTLAB", new Field("startTime", Long), new Field("stackTrace", StackTrace, Pool: true), new Field("objectClass", ClassType, Pool: true), new Field("allocationSize", Long), new Field("tlabSize", Long), new Field("contextId", Long)));
        w.Define(new Class(OutsideTlab, "jdk.ObjectAllocationOutsideTLAB", new Field("startTime", Long), new Field("stackTrace", StackTrace, Pool: true), new Field("objectClass", ClassType, Pool: true), new Field("allocationSize", Long), new Field("contextId", Long)));
        w.Define(new Class(MonitorEnter, "jdk.JavaMonitorEnter", new Field("startTime", Long), new Field("duration", Long), new Field("stackTrace", StackTrace, Pool: true), new Field("monitorClass", ClassType, Pool: true), new Field("contextId", Long)));
        w.Define(new Class(ThreadPark, "jdk.ThreadPark", new Field("startTime", Long), new Field("duration", Long), new Field("stackTrace", StackTrace, Pool: true), new Field("parkedClass", ClassType, Pool: true), new Field("timeout", Long)));
        w.Define(new Class(LiveObject, "profiler.LiveObject", new Field("startTime", Long), new Field("stackTrace", StackTrace, Pool: true), new Field("objectClass", ClassType, Pool: true), new Field("allocationSize", Long)));
        w.Define(new Class(Malloc, "profiler.Malloc", new Field("startTime", Long), new Field("stackTrace", StackTrace, Pool: true), new Field("address", Long), new Field("size", Long)));
        w.Define(new Class(Setting, "jdk.ActiveSetting", new Field("startTime", Long), new Field("id", Long), new Field("name", String), new Field("value", String)));
        // Deep: 200 fields of L1, each 200 of L2, ... down to an empty struct.
        w.Define(new Class(34, "custom.Leaf"));
        for (var level = 33; level >= 30; level--)
        {
            var child = level + 1;
            w.Define(new Class(level, $"custom.Level{level}", [.. Enumerable.Range(0, 200).Select(i => new Field($"f{i}", child))]));
        }

        static byte[] Sym(Action<Buf> encode)
        {
            var b = new Buf();
            encode(b);
            return b.ToArray();
        }
        w.Checkpoint(
            (Symbol,
            [
                (1, Sym(b => b.CharArray("com/example/Worker"))),
                (2, Sym(b => b.Utf8("run"))),
                (3, Sym(b => b.Latin1("com/example/Café"))),
                (4, Sym(b => b.Utf8("compute"))),
                (5, Sym(b => b.Utf8("()V"))),
                (6, Sym(b => b.Utf8("java/lang/Thread"))),
                (7, Sym(b => b.Utf8("com/example/App$$Lambda$12/0x0000000800c01234"))),
                (8, Sym(b => b.Utf8("lambda$main$0"))),
            ]),
            (ClassType, [(1, new Buf().VarLong(1).Byte(0).ToArray()), (2, new Buf().VarLong(3).Byte(0).ToArray()), (3, new Buf().VarLong(6).Byte(0).ToArray()), (4, new Buf().VarLong(7).Byte(1).ToArray())]),
            (Method,
            [
                (1, new Buf().VarLong(3).VarLong(2).VarLong(5).ToArray()),
                (2, new Buf().VarLong(1).VarLong(2).VarLong(5).ToArray()),
                (3, new Buf().VarLong(2).VarLong(4).VarLong(5).ToArray()),
                (4, new Buf().VarLong(4).VarLong(8).VarLong(5).ToArray()),
                (5, new Buf().VarLong(99).VarLong(8).VarLong(5).ToArray()), // class 99 is not in the pool
            ]),
            (Deep, [(1, [])]));

        static byte[] Frames(params (long Method, int Line)[] frames)
        {
            var b = new Buf().Byte(0).VarLong(frames.Length);
            foreach (var (method, line) in frames)
            {
                b.VarLong(method).VarLong(line).Float(1.5f).Double(2.5).Utf8("here").VarLong(2).VarLong(7).VarLong(8).VarLong(42);
            }
            return b.ToArray();
        }
        w.Checkpoint(
            (StackTrace, [(1, Frames((3, 30), (2, 20), (1, 10))), (2, Frames((4, 5), (5, 7), (1, 10))), (3, Frames((2, 21), (1, 10)))]),
            (ThreadState, [(1, new Buf().Utf8("STATE_RUNNABLE").ToArray()), (2, new Buf().CharArray("STATE_SLEEPING").ToArray())]));

        w.Event(Setting, new Buf().VarLong(1).VarLong(Execution).Utf8("event").Latin1("wall").ToArray());
        for (var i = 0; i < 3; i++)
        {
            w.Event(Execution, new Buf().VarLong(100 + i).VarLong(1).VarLong(1).VarLong(7).ToArray());
        }
        for (var i = 0; i < 2; i++)
        {
            w.Event(Execution, new Buf().VarLong(200 + i).VarLong(2).VarLong(2).VarLong(0).ToArray());
        }
        w.Event(Execution, new Buf().VarLong(300).VarLong(3).VarLong(1).VarLong(8).ToArray());
        w.Event(Execution, new Buf().VarLong(301).VarLong(999).VarLong(1).VarLong(8).ToArray()); // unknown stack: dropped
        w.Event(WallClock, new Buf().VarLong(400).VarLong(3).VarLong(5).ToArray());
        for (var i = 0; i < 2; i++)
        {
            w.Event(InNewTlab, new Buf().VarLong(500).VarLong(1).VarLong(1).VarLong(100).VarLong(4096).VarLong(7).ToArray());
        }
        w.Event(OutsideTlab, new Buf().VarLong(600).VarLong(3).VarLong(2).VarLong(1_000_000).VarLong(0).ToArray());
        w.Event(MonitorEnter, new Buf().VarLong(700).VarLong(250).VarLong(1).VarLong(1).VarLong(8).ToArray());
        w.Event(ThreadPark, new Buf().VarLong(800).VarLong(1000).VarLong(3).VarLong(1).VarLong(-1).ToArray());
        w.Event(LiveObject, new Buf().VarLong(900).VarLong(2).VarLong(1).VarLong(24).ToArray());
        w.Event(Malloc, new Buf().VarLong(1000).VarLong(1).VarLong(0x7f00_0000_1000).VarLong(64).ToArray());
        return w.Build();
    }
}
