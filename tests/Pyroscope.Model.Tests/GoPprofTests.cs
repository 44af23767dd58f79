using System.Diagnostics;
using Google.Protobuf;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Testing;

namespace Pyroscope.Model.Tests;

/// <summary>Checks the pprof export with Go's own pprof tool (apt-get install golang-go; .ci/run installs it).</summary>
public class GoPprofTests
{
    [Fact]
    public async Task Go_tool_pprof_reads_the_export()
    {
        var go = new[] { "/usr/bin/go", "/usr/local/go/bin/go" }.FirstOrDefault(File.Exists);
        Assert.True(go is not null, "go is not installed: apt-get install -y golang-go (.ci/run does)");
        var input = PprofFixtures.LoadPprof("go/go-cpu.pb.gz");
        var stacks = PprofFixtures.Stacks(input, 1);
        var tree = new StackTree();
        foreach (var (s, v) in stacks)
        {
            tree.Add(v, s);
        }
        var type = PprofFixtures.TypesOf(input, "process_cpu")[1];
        var file = Path.Combine(Path.GetTempPath(), $"pyroscope-export-{Guid.NewGuid():N}.pb");
        await File.WriteAllBytesAsync(file, StackExports.ToPprof(tree, type, 0, new TimeRange(0, 10_000)).ToByteArray(), TestContext.Current.CancellationToken);
        try
        {
            var psi = new ProcessStartInfo(go!, ["tool", "pprof", "-top", "-nodecount=5", file])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["HOME"] = Path.GetTempPath(), ["GOCACHE"] = Path.Combine(Path.GetTempPath(), "go-cache") },
            };
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            var output = await stdout;
            Assert.True(process.ExitCode == 0, await stderr);
            // The heaviest leaf by self value must be pprof's top entry.
            var top = PprofFixtures.Folded(stacks).GroupBy(k => k.Key.Split(';')[^1]).MaxBy(g => g.Sum(k => k.Value))!.Key;
            Assert.Contains(top, output);
            Assert.Contains("Type: cpu", output);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
