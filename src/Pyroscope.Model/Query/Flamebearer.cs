using System.Text.Json;

namespace Pyroscope.Model.Query;

/// <summary>The timeline under a legacy render response: one value per step, seconds.</summary>
public sealed record Timeline(long StartTimeSeconds, long DurationDeltaSeconds, ulong[] Samples);

/// <summary>
/// Writes the legacy flamebearer JSON of <c>/pyroscope/render</c> and <c>/pyroscope/render-diff</c>
/// (upstream's og/structs/flamebearer layout) straight from a flame graph, without an object model.
/// </summary>
public static class FlamebearerJson
{
    public static void Write(Utf8JsonWriter w, FlameGraphData graph, ProfileTypeId type, Timeline? timeline, IReadOnlyDictionary<string, Timeline>? groups = null)
    {
        w.WriteStartObject();
        w.WriteNumber("version", 1);
        WriteFlamebearer(w, graph.Names, graph.Levels, graph.Total, graph.MaxSelf);
        WriteMetadata(w, type, "single");
        WriteTimeline(w, "timeline", timeline);
        if (groups is null)
        {
            w.WriteNull("groups");
        }
        else
        {
            w.WriteStartObject("groups");
            foreach (var (key, value) in groups)
            {
                WriteTimeline(w, key, value);
            }
            w.WriteEndObject();
        }
        w.WriteNull("heatmap");
        w.WriteEndObject();
        w.Flush();
    }

    public static void WriteDiff(Utf8JsonWriter w, FlameGraphDiffData graph, ProfileTypeId type)
    {
        w.WriteStartObject();
        w.WriteNumber("version", 1);
        WriteFlamebearer(w, graph.Names, graph.Levels, graph.Total, graph.MaxSelf);
        WriteMetadata(w, type, "double");
        w.WriteNull("timeline");
        w.WriteNull("groups");
        w.WriteNull("heatmap");
        if (graph.LeftTicks != 0)
        {
            w.WriteNumber("leftTicks", graph.LeftTicks);
        }
        if (graph.RightTicks != 0)
        {
            w.WriteNumber("rightTicks", graph.RightTicks);
        }
        w.WriteEndObject();
        w.Flush();
    }

    /// <summary>The unit the legacy UI formats values with, as upstream derives it from the sample type.</summary>
    public static string UnitsOf(ProfileTypeId type) => type.SampleType switch
    {
        "inuse_objects" or "alloc_objects" or "goroutine" or "samples" => "objects",
        "cpu" => "samples",
        _ => type.SampleUnit,
    };

    private static void WriteFlamebearer(Utf8JsonWriter w, IReadOnlyList<string> names, long[][] levels, long total, long maxSelf)
    {
        w.WriteStartObject("flamebearer");
        w.WriteStartArray("names");
        foreach (var name in names)
        {
            w.WriteStringValue(name);
        }
        w.WriteEndArray();
        w.WriteStartArray("levels");
        foreach (var level in levels)
        {
            w.WriteStartArray();
            foreach (var v in level)
            {
                w.WriteNumberValue(v);
            }
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteNumber("numTicks", total);
        w.WriteNumber("maxSelf", maxSelf);
        w.WriteEndObject();
    }

    private static void WriteMetadata(Utf8JsonWriter w, ProfileTypeId type, string format)
    {
        w.WriteStartObject("metadata");
        w.WriteString("format", format);
        w.WriteString("spyName", string.Empty);
        w.WriteNumber("sampleRate", 100);
        w.WriteString("units", UnitsOf(type));
        w.WriteString("name", type.SampleType);
        w.WriteEndObject();
    }

    private static void WriteTimeline(Utf8JsonWriter w, string property, Timeline? timeline)
    {
        if (timeline is null)
        {
            w.WriteNull(property);
            return;
        }
        w.WriteStartObject(property);
        w.WriteNumber("startTime", timeline.StartTimeSeconds);
        w.WriteStartArray("samples");
        foreach (var s in timeline.Samples)
        {
            w.WriteNumberValue(s);
        }
        w.WriteEndArray();
        w.WriteNumber("durationDelta", timeline.DurationDeltaSeconds);
        w.WriteNull("watermarks");
        w.WriteEndObject();
    }
}
