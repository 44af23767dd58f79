using Pyroscope.Model;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester.Tests;

/// <summary>
/// max_head_bytes is checked by every append, not only by the flush loop's next round (10 s apart, in which a busy
/// ingester takes hundreds of MB): the append that reaches it asks for maintenance, and that round cuts and flushes.
/// </summary>
public sealed class HeadSizeBoundTests
{
    private const string Tenant = "t1";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    [Fact]
    public async Task The_append_that_reaches_max_head_bytes_requests_maintenance_and_that_round_cuts_and_flushes()
    {
        var ct = TestContext.Current.CancellationToken;
        var fixtures = TestData.AllFixtureSeries(T0).Take(3).ToList();

        // What the first push makes the head estimate, from an engine without a bound.
        long firstPushBytes;
        using (var scratch = new TempDir())
        {
            await using var unbounded = await TestEngine.OpenAsync(scratch.Path, null, TestData.Clock());
            await unbounded.PushAsync(Tenant, Fixtures.Push([fixtures[0].Series]), ct);
            firstPushBytes = unbounded.CurrentHeads[Tenant].EstimatedBytes;
            Assert.False(unbounded.MaintenanceRequested.IsCompleted);
        }

        using var dir = new TempDir();
        var options = TestEngine.Options(dir.Path);
        options.MaxHeadBytes = firstPushBytes + 1;
        await using var engine = new IngesterEngine(options, new IngesterOptions(), null, TestData.Clock());
        await engine.StartAsync(ct);

        await engine.PushAsync(Tenant, Fixtures.Push([fixtures[0].Series]), ct);
        Assert.False(engine.MaintenanceRequested.IsCompleted, "one byte below the bound must not ask for a cut");
        await engine.PushAsync(Tenant, Fixtures.Push([fixtures[1].Series]), ct);
        Assert.True(engine.MaintenanceRequested.IsCompleted, "the append past max_head_bytes must ask for maintenance at once");
        Assert.True(engine.CutDue());

        await engine.RunMaintenanceAsync(ct);
        Assert.Equal(0, engine.PendingCuts);
        Assert.Single(engine.LocalBlockIds());
        Assert.Empty(engine.CurrentHeads);
        Assert.False(engine.MaintenanceRequested.IsCompleted, "the round consumed the request");

        // The next generation asks again exactly when it reaches the bound, and nothing was lost across the cut.
        await engine.PushAsync(Tenant, Fixtures.Push([fixtures[2].Series]), ct);
        Assert.Equal(engine.CurrentHeads[Tenant].EstimatedBytes >= options.MaxHeadBytes, engine.MaintenanceRequested.IsCompleted);
        await TestData.AssertAllExactAsync(new IngesterReader(engine), Tenant, fixtures, All);
    }
}
