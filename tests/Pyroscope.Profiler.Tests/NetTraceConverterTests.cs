namespace Pyroscope.Profiler.Tests;

[Collection(InProcessProfilerCollection.Name)]
public sealed class NetTraceConverterTests(DotnetTraceTool dotnetTrace) : IClassFixture<DotnetTraceTool>
{
    [Fact]
    public async Task Converts_a_real_dotnet_trace_recording_into_cpu_and_wall_profiles_with_the_workload_methods()
    {
        var ct = TestContext.Current.CancellationToken;
        var trace = System.IO.Path.Combine(Directory.CreateTempSubdirectory("nettrace-test-").FullName, "workload.nettrace");
        await using (var workload = await WorkloadProcess.StartAsync("--seconds 60", ct))
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            var (exitCode, output) = await DotnetTraceTool.RunAsync(dotnetTrace.Path,
                $"collect -p {workload.Pid} --profile dotnet-sampled-thread-time --duration 00:00:00:03 -o \"{trace}\"",
                TimeSpan.FromMinutes(1));
            Assert.True(exitCode == 0, $"dotnet-trace failed after {started.Elapsed}: {output}");
        }

        IReadOnlyList<(ProfileType Type, Pprof.Profile Profile)> profiles;
        await using (var stream = File.OpenRead(trace))
        {
            profiles = NetTraceConverter.Convert(stream, ct);
        }

        var cpu = PprofStacks.From(Assert.Single(profiles, p => p.Type == DotNetProfileTypes.Cpu).Profile);
        var wall = PprofStacks.From(Assert.Single(profiles, p => p.Type == DotNetProfileTypes.Wall).Profile);
        Assert.Equal(("cpu", "nanoseconds", "cpu"), (cpu.SampleType, cpu.SampleUnit, cpu.PeriodType));
        Assert.Equal(("wall", "nanoseconds", "wall"), (wall.SampleType, wall.SampleUnit, wall.PeriodType));
        // Everything that ran on cpu also ran on the wall clock, not the other way round.
        Assert.True(wall.Total >= cpu.Total, $"wall {wall.Total} < cpu {cpu.Total}");

        WorkloadAssertions.HotMethodDominates(cpu, WorkloadAssertions.DotnetTraceSamplerBias);
        Assert.Contains(wall.Samples, s => s.RootFirst.Contains("Workload.Run"));
    }

    [Fact]
    public void Rejects_bytes_that_are_not_a_nettrace_file()
    {
        var error = Assert.Throws<InvalidDataException>(() => NetTraceConverter.Convert(new MemoryStream("hello, not a trace"u8.ToArray()), TestContext.Current.CancellationToken));
        Assert.Contains("Nettrace", error.Message);
    }

    [Fact]
    public void Rejects_a_nettrace_header_followed_by_garbage_with_a_clear_error()
    {
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        "Nettrace"u8.CopyTo(bytes);
        var error = Assert.Throws<InvalidDataException>(() => NetTraceConverter.Convert(new MemoryStream(bytes), TestContext.Current.CancellationToken));
        Assert.Contains(".nettrace", error.Message);
    }

    [Fact]
    public void Rejects_an_empty_stream()
    {
        Assert.Throws<InvalidDataException>(() => NetTraceConverter.Convert(new MemoryStream(), TestContext.Current.CancellationToken));
    }
}
