using Pyroscope.Model.Query;

namespace Pyroscope.Model.Tests;

/// <summary>Upstream's heatmap rules (pkg/model/heatmap) on small hand-made point sets.</summary>
public sealed class HeatmapBuilderTests
{
    private static readonly LabelSet Api = LabelSet.From([new Label("service_name", "api"), new Label("pod", "a")]);
    private static readonly LabelSet ApiB = LabelSet.From([new Label("service_name", "api"), new Label("pod", "b")]);

    [Fact]
    public void Slots_are_right_closed_buckets_share_one_range_and_the_top_value_is_in_the_last_bucket()
    {
        HeatmapBuilder.Point[] points =
        [
            new(Api, 1_000, 100, "p1", 0, 0),  // on start: slot 1000
            new(Api, 1_001, 200, "p2", 0, 0),  // just after: slot 1010
            new(Api, 1_010, 300, "p3", 0, 0),  // on the edge: slot 1010
            new(Api, 1_010, 105, "p4", 0, 0),  // same cell as p1's bucket, other slot
        ];
        var series = Assert.Single(HeatmapBuilder.Build(points, 1_000, 1_020, 10, [], exemplars: true, limit: null));
        Assert.Equal([1_000L, 1_010L], series.Slots.Select(s => s.Timestamp));
        // min 100, max 300: 20 buckets of 10 starting at 100.
        Assert.Equal(Enumerable.Range(0, 20).Select(i => 100.0 + i * 10), series.Slots[0].YMin);
        Assert.Equal(1, series.Slots[0].Counts[0]);
        var second = series.Slots[1];
        Assert.Equal((1, 1, 1), (second.Counts[0], second.Counts[10], second.Counts[19]));
        Assert.Equal(["p4", "p2", "p3"], second.Exemplars.Select(e => e.ProfileId));
    }

    [Fact]
    public void A_cell_exemplar_is_its_highest_point_and_span_points_of_one_instant_add_up()
    {
        HeatmapBuilder.Point[] points =
        [
            new(Api, 5_000, 40, "", 0xab, 7),
            new(ApiB, 5_000, 2, "", 0xab, 7),  // the same span and trace at the same instant from another profile
            new(Api, 5_000, 41, "", 0xcd, 7),
            new(Api, 5_000, 99, "", 0, 0),     // neither profile id nor span: not a point
        ];
        var series = Assert.Single(HeatmapBuilder.Build(points, 0, 10_000, 10_000, [], exemplars: true, limit: null));
        var slot = Assert.Single(series.Slots);
        Assert.Equal(2, slot.Counts.Sum());
        var top = slot.Exemplars.MaxBy(e => e.Value)!;
        Assert.Equal(("00000000000000ab", "00000000000000000000000000000007", 42L), (top.SpanId, top.TraceId, top.Value));
        // Labels the summed points do not share are dropped from the exemplar.
        Assert.Equal(["service_name"], top.Labels.Select(l => l.Name));
    }

    [Fact]
    public void Group_by_splits_series_and_limit_keeps_those_with_the_most_points()
    {
        HeatmapBuilder.Point[] points =
        [
            new(Api, 1, 10, "p1", 0, 0),
            new(ApiB, 1, 10, "p2", 0, 0),
            new(ApiB, 2, 20, "p3", 0, 0),
        ];
        var all = HeatmapBuilder.Build(points, 0, 10, 10, ["pod"], exemplars: false, limit: null);
        Assert.Equal(["a", "b"], all.Select(s => Assert.Single(s.Labels).Value));
        Assert.All(all, s => Assert.All(s.Slots, slot => Assert.Empty(slot.Exemplars)));
        var top = Assert.Single(HeatmapBuilder.Build(points, 0, 10, 10, ["pod"], exemplars: false, limit: 1));
        Assert.Equal("b", Assert.Single(top.Labels).Value);
    }
}
