using Pyroscope.Ingester.Client;
using Pyroscope.Model;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Ingester.Tests;

public sealed class WalTests
{
    private const string Tenant = "t1";
    private static readonly long T0 = TestData.Start.ToUnixTimeMilliseconds();
    private static readonly TimeRange All = new(T0 - 3_600_000, T0 + 3_600_000);

    private static string[] Segments(string dataDir) =>
        Directory.GetFiles(Path.Combine(dataDir, "wal"), "*.wal").Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public async Task Acked_pushes_are_replayed_after_a_crash()
    {
        using var dir = new TempDir();
        var fixtures = TestData.AllFixtureSeries(T0);
        // "Crash": the engine is never shut down, so nothing was cut or flushed; only the WAL has the data.
        var crashed = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        foreach (var f in fixtures)
        {
            await crashed.PushAsync(Tenant, Fixtures.Push([f.Series]), CancellationToken.None);
        }
        await crashed.DisposeAsync();
        Assert.Empty(Directory.GetDirectories(Path.Combine(dir.Path, "local")));

        await using var restarted = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        await TestData.AssertAllExactAsync(new IngesterReader(restarted), Tenant, fixtures, All);
    }

    [Fact]
    public async Task Replayed_data_is_not_duplicated_once_flushed()
    {
        using var dir = new TempDir();
        var fixtures = TestData.AllFixtureSeries(T0).Take(3).ToList();
        var first = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        await first.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), CancellationToken.None);
        first.Cut();
        await first.FlushPendingAsync(CancellationToken.None);
        await first.DisposeAsync();
        // The flushed generation's segments are released: nothing left to replay.
        Assert.All(Segments(dir.Path), s => Assert.Equal(0, new FileInfo(s).Length));

        await using var second = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        await TestData.AssertAllExactAsync(new IngesterReader(second), Tenant, fixtures, All);
    }

    [Fact]
    public async Task Local_block_of_an_unfinished_checkpoint_is_dropped_and_replayed_once()
    {
        using var dir = new TempDir();
        using var saved = new TempDir();
        var fixtures = TestData.AllFixtureSeries(T0).Take(2).ToList();
        var first = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        await first.PushAsync(Tenant, Fixtures.Push(fixtures.Select(f => f.Series)), CancellationToken.None);
        var wal = Path.Combine(dir.Path, "wal");
        foreach (var file in Directory.GetFiles(wal))
        {
            File.Copy(file, Path.Combine(saved.Path, Path.GetFileName(file)));
        }
        first.Cut();
        await first.FlushPendingAsync(CancellationToken.None);
        await first.DisposeAsync();
        // Crash between writing the block and releasing the WAL: the old segment and checkpoint are back.
        foreach (var file in Directory.GetFiles(wal))
        {
            File.Delete(file);
        }
        foreach (var file in Directory.GetFiles(saved.Path))
        {
            File.Copy(file, Path.Combine(wal, Path.GetFileName(file)));
        }

        await using var second = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        Assert.Empty(second.LocalBlockIds());
        var reader = new IngesterReader(second);
        await TestData.AssertAllExactAsync(reader, Tenant, fixtures, All);
        Assert.Single(await reader.ProfileTotalsAsync(Tenant, TestData.QueryFor(fixtures[0].Labels, All), CancellationToken.None));
    }

    [Fact]
    public async Task Torn_tail_is_dropped_and_earlier_records_survive()
    {
        using var dir = new TempDir();
        var fixtures = TestData.AllFixtureSeries(T0).Take(3).ToList();
        var crashed = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        foreach (var f in fixtures)
        {
            await crashed.PushAsync(Tenant, Fixtures.Push([f.Series]), CancellationToken.None);
        }
        await crashed.DisposeAsync();
        var segment = Segments(dir.Path).Last();
        var length = new FileInfo(segment).Length;
        using (var file = new FileStream(segment, FileMode.Open))
        {
            file.SetLength(length - 7); // a write cut short by the crash
        }

        await using var restarted = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        var reader = new IngesterReader(restarted);
        await TestData.AssertAllExactAsync(reader, Tenant, fixtures.Take(2), All);
        Assert.Empty(await reader.ProfileTotalsAsync(Tenant, TestData.QueryFor(fixtures[2].Labels, All), CancellationToken.None));
        // New pushes keep working after a torn tail.
        var extra = TestData.AllFixtureSeries(T0 + 1)[0];
        await restarted.PushAsync(Tenant, Fixtures.Push([extra.Series]), CancellationToken.None);
        Assert.Single(await reader.ProfileTotalsAsync(Tenant, TestData.QueryFor(extra.Labels, new TimeRange(T0 + 1, T0 + 1)), CancellationToken.None));
    }

    [Fact]
    public async Task Corrupt_record_is_detected_by_checksum()
    {
        using var dir = new TempDir();
        var fixtures = TestData.AllFixtureSeries(T0).Take(2).ToList();
        var crashed = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        foreach (var f in fixtures)
        {
            await crashed.PushAsync(Tenant, Fixtures.Push([f.Series]), CancellationToken.None);
        }
        await crashed.DisposeAsync();
        var segment = Segments(dir.Path).Last();
        var bytes = File.ReadAllBytes(segment);
        bytes[^20] ^= 0x5a; // flip bits inside the last record's payload
        File.WriteAllBytes(segment, bytes);

        await using var restarted = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        var reader = new IngesterReader(restarted);
        await TestData.AssertAllExactAsync(reader, Tenant, fixtures.Take(1), All);
        Assert.Empty(await reader.ProfileTotalsAsync(Tenant, TestData.QueryFor(fixtures[1].Labels, All), CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_pushes_are_all_durable_and_counted()
    {
        using var dir = new TempDir();
        var profile = Fixtures.Decode("go/go-cpu.pb.gz");
        var engine = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        var pushes = Enumerable.Range(0, 64).Select(i => Fixtures.ToSeries(profile, "svc" + (i % 4), T0 + i)[1]).ToList();
        await Parallel.ForEachAsync(pushes, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (s, ct) =>
            await engine.PushAsync(Tenant, Fixtures.Push([s]), ct));
        var expected = Fixtures.ExpectedStacks(pushes[0].Profile).Values.Sum();
        // Cut half way through: the next generation holds nothing yet, everything must still be counted once.
        engine.Cut();
        await engine.FlushPendingAsync(CancellationToken.None);
        await engine.DisposeAsync();

        await using var restarted = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        var matcher = new LabelMatcher(LabelNames.ProfileType, MatchType.Regex, "process_cpu:cpu:.*");
        var totals = await new IngesterReader(restarted).ProfileTotalsAsync(Tenant, new SelectQuery([matcher], All), CancellationToken.None);
        Assert.Equal(64, totals.Count);
        Assert.All(totals, t => Assert.Equal(expected, t.Value));
    }

    [Fact]
    public void Wal_records_keep_their_layout_so_segments_of_earlier_versions_replay()
    {
        // string tenant (uvarint byte count + UTF-8) | codec byte 1 | zstd(PushRequest): what earlier versions wrote.
        var push = Fixtures.Push([TestData.AllFixtureSeries(T0)[0].Series]);
        var tenant = new string('é', 70); // 140 UTF-8 bytes: a two-byte length varint
        using var compressor = new ZstdSharp.Compressor(1);
        byte[] earlier = [0x8c, 0x01, .. System.Text.Encoding.UTF8.GetBytes(tenant), 1, .. compressor.Wrap(Google.Protobuf.MessageExtensions.ToByteArray(push))];

        var decoded = WalRecordCodec.Decode(earlier);
        Assert.Equal(tenant, decoded.Tenant);
        Assert.Equal(push, decoded.Request);
        Assert.Equal(earlier, WalRecordCodec.Encode(tenant, push));
        Assert.Throws<InvalidDataException>(() => WalRecordCodec.Decode([.. earlier[..142], 3, .. earlier[143..]]));
    }

    [Fact]
    public async Task Received_profiles_are_logged_as_received_and_replay_to_the_same_series_samples_and_ids()
    {
        using var dir = new TempDir();
        // Real profiles, gzipped as agents send them, cut by the truncation limits in force when they were received.
        var fixtures = TestData.AllFixtureSeries(T0).Where(f => f.Series.Profile.Function.All(fn => fn.Id != 0)).ToList();
        var request = Fixtures.Push(fixtures.Select(f => f.Series));
        var context = ReceivedPushes.NewContext(maxStackDepth: 6, maxSymbolLength: 12);
        var crashed = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        long received;
        using (var push = ReceivedPushes.Of(request, context, gzip: true))
        {
            received = push.Profiles.Sum(p => (long)p.Payload.Length);
            await crashed.PushAsync(Tenant, push, CancellationToken.None);
        }
        var before = await HeadContentAsync(new IngesterReader(crashed));
        await crashed.DisposeAsync();

        // The WAL holds what was received, not a re-encoding of the normalised series (labels and context on top).
        var walBytes = Segments(dir.Path).Sum(s => new FileInfo(s).Length);
        Assert.InRange(walBytes, 1, received + 16 * 1024);
        Assert.All(before.Values.SelectMany(stacks => stacks.Keys).SelectMany(k => k.Split(';')), frame => Assert.True(frame.Length <= 12, frame));
        Assert.Contains(before.Values, stacks => stacks.Count > 1);

        await using var restarted = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        var reader = new IngesterReader(restarted);
        Assert.Equal(before, await HeadContentAsync(reader));

        // The same push again (a retry) gets the same series ids from the context: nothing is stored twice.
        using (var retry = ReceivedPushes.Of(request, context, gzip: true))
        {
            await restarted.PushAsync(Tenant, retry, CancellationToken.None);
        }
        Assert.Equal(before, await HeadContentAsync(reader));
    }

    [Fact]
    public async Task A_push_received_from_a_remote_distributor_stores_and_replays_only_the_series_placed_here()
    {
        using var dir = new TempDir();
        var fixtures = TestData.AllFixtureSeries(T0).Where(f => f.File.StartsWith("go/", StringComparison.Ordinal)).ToList();
        using var push = ReceivedPushes.Of(Fixtures.Push(fixtures.Select(f => f.Series)), gzip: true);
        var all = push.Series().Select(s => s.Series).ToList();
        Assert.True(all.Count >= 4);
        var request = new Pyroscope.Contracts.Ingester.V1.PushRequest { Received = Google.Protobuf.ByteString.CopyFrom(WalRecordCodec.EncodeBody(push).Span) };
        request.ReceivedSeries.Add([1u, 3u]);

        var crashed = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        await crashed.PushAsync(Tenant, request, CancellationToken.None);
        var before = await HeadContentAsync(new IngesterReader(crashed));
        await crashed.DisposeAsync();
        var expected = new[] { all[1].Labels, all[3].Labels }.Select(l => string.Join(",", l.Labels.ToArray().Select((Label x) => x.Name + "=" + x.Value))).Order(StringComparer.Ordinal);
        Assert.Equal(expected, before.Keys);

        await using var restarted = await TestEngine.OpenAsync(dir.Path, null, TestData.Clock());
        Assert.Equal(before, await HeadContentAsync(new IngesterReader(restarted)));
        request.ReceivedSeries.Add(99u);
        await Assert.ThrowsAsync<InvalidDataException>(() => restarted.PushAsync(Tenant, request, CancellationToken.None));
    }

    /// <summary>Every series of the tenant with its merged stacks.</summary>
    private static async Task<SortedDictionary<string, SortedDictionary<string, long>>> HeadContentAsync(IngesterReader reader)
    {
        var result = new SortedDictionary<string, SortedDictionary<string, long>>(StringComparer.Ordinal);
        foreach (var labels in await reader.SeriesAsync(Tenant, [], All, CancellationToken.None))
        {
            var matchers = labels.Labels.ToArray().Select((Label l) => new LabelMatcher(l.Name, MatchType.Equal, l.Value)).ToList();
            var stacks = await TestData.MergeAsync(reader, Tenant, new SelectQuery(matchers, All));
            result[string.Join(",", labels.Labels.ToArray().Select((Label l) => l.Name + "=" + l.Value))] = new SortedDictionary<string, long>(stacks, StringComparer.Ordinal);
        }
        return result;
    }
}
