using System.Diagnostics;
using Pyroscope.Model;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester.Tests;

/// <summary>A child process pushes and acks; it is SIGKILLed at random points; every acked profile must survive, once.</summary>
public sealed class CrashTests
{
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();

    [Fact]
    public async Task Every_acked_profile_survives_random_kills()
    {
        using var data = new TempDir();
        using var shared = new TempDir();
        var fixture = Path.Combine(Fixtures.Directory, "go/go-cpu.pb.gz");
        var random = new Random(12345);
        var acked = new HashSet<string>();
        long nextId = 1;
        for (var round = 0; round < 5; round++)
        {
            var killAfter = random.Next(5, 60);
            using var child = StartChild(data.Path, shared.Path, fixture, nextId);
            try
            {
                var count = 0;
                while (count < killAfter)
                {
                    var line = await child.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken)
                        ?? throw new InvalidOperationException("child exited: " + await child.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken));
                    if (line.StartsWith("ack ", StringComparison.Ordinal))
                    {
                        var id = long.Parse(line[4..]);
                        acked.Add("crash-" + id);
                        nextId = Math.Max(nextId, id + 1);
                        count++;
                    }
                }
            }
            finally
            {
                child.Kill(entireProcessTree: true); // SIGKILL: no flush, no shutdown
                await child.WaitForExitAsync(TestContext.Current.CancellationToken);
            }
            // Ids the child may have pushed after its last ack are skipped to keep ids unique.
            nextId += 1000;
        }

        var store = new FileSystemObjectStore(shared.Path);
        await using var engine = await TestEngine.OpenAsync(data.Path, store, TestData.Clock());
        var reader = new CombinedReader(engine, new BlockStoreReader(store));
        var totals = await reader.ProfileTotalsAsync("crash-tenant",
            new SelectQuery([new LabelMatcher(LabelNames.ServiceName, MatchType.Equal, "crash")], new TimeRange(0, long.MaxValue)), CancellationToken.None);
        var stored = totals.Select(t => t.ProfileId).ToList();
        Assert.Equal(stored.Count, stored.Distinct().Count());
        var missing = acked.Except(stored).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} acked profiles lost, e.g. {string.Join(",", missing.Take(5))}");
        Assert.True(acked.Count >= 25);
    }

    private static Process StartChild(string dataDir, string storeDir, string fixture, long firstId)
    {
        var dll = Path.Combine(AppContext.BaseDirectory.Replace("Pyroscope.Ingester.Tests", "Pyroscope.Ingester.CrashChild"), "Pyroscope.Ingester.CrashChild.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, dataDir, storeDir, fixture, firstId.ToString(), T0.ToString() },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the crash child");
    }
}
