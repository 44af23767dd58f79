using System.Text.Json;
using Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Formats.Legacy;

/// <summary>One pprof profile converted from a speedscope document, with the app name (and type suffix) it belongs to.</summary>
public sealed record ConvertedProfile(LegacyProfileType Type, Profile Profile);

/// <summary>
/// Speedscope JSON (https://www.speedscope.app/file-format-schema.json), sampled and evented profiles.
/// As upstream: a single profile uses the request's type; several profiles each get their unit as type
/// suffix; time units are converted to nanoseconds through an implied sample rate.
/// </summary>
public static class SpeedscopeParser
{
    public static IReadOnlyList<ConvertedProfile> Parse(ReadOnlySpan<byte> json, string fullAppName, long fromNanos, long untilNanos)
    {
        if (!System.Text.Unicode.Utf8.IsValid(json))
        {
            throw new ProfileFormatException("speedscope: the body is not valid UTF-8");
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray(), new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new ProfileFormatException($"speedscope: invalid JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine}: {e.Message}", e);
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("shared", out var shared) || shared.ValueKind != JsonValueKind.Object || !shared.TryGetProperty("frames", out var framesElement)
                || framesElement.ValueKind != JsonValueKind.Array)
            {
                throw new ProfileFormatException("speedscope: missing shared.frames array");
            }
            if (!root.TryGetProperty("profiles", out var profiles) || profiles.ValueKind != JsonValueKind.Array)
            {
                throw new ProfileFormatException("speedscope: missing profiles array");
            }
            var frames = new string[framesElement.GetArrayLength()];
            var f = 0;
            foreach (var frame in framesElement.EnumerateArray())
            {
                frames[f++] = frame.ValueKind == JsonValueKind.Object && frame.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                    ? name.GetString()!
                    : throw new ProfileFormatException($"speedscope: shared.frames[{f}] has no name");
            }

            var multi = profiles.GetArrayLength() > 1;
            var result = new List<ConvertedProfile>();
            var index = 0;
            foreach (var profile in profiles.EnumerateArray())
            {
                if (profile.ValueKind != JsonValueKind.Object)
                {
                    throw new ProfileFormatException($"speedscope: profiles[{index}] is {Kind(profile)}, not an object");
                }
                var unit = String(profile, "unit") ?? "none";
                var name = multi ? AppOf(fullAppName) + "." + SuffixFor(unit) : fullAppName;
                var type = LegacyProfileType.FromAppName(name);
                var builder = new StackProfileBuilder();
                var kind = String(profile, "type");
                switch (kind)
                {
                    case "sampled":
                        ReadSampled(profile, frames, builder, index);
                        break;
                    case "evented":
                        ReadEvented(profile, frames, builder, index);
                        break;
                    default:
                        throw new ProfileFormatException($"speedscope: profiles[{index}]: unknown type \"{kind}\" (expected sampled or evented)");
                }
                var sampleRate = SampleRateFor(unit);
                result.Add(new ConvertedProfile(type, builder.BuildLegacy(type, sampleRate, fromNanos, untilNanos)));
                index++;
            }
            return result;
        }
    }

    private static string AppOf(string fullAppName)
    {
        var dot = fullAppName.LastIndexOf('.');
        return dot < 0 ? fullAppName : fullAppName[..dot];
    }

    private static string SuffixFor(string unit) => unit switch
    {
        "nanoseconds" or "microseconds" or "milliseconds" or "seconds" or "bytes" => unit,
        _ => "cpu",
    };

    // Values in time units become nanoseconds: period = 1e9 / rate.
    private static int SampleRateFor(string unit) => unit switch
    {
        "seconds" => 1,
        "milliseconds" => 1_000,
        "microseconds" => 1_000_000,
        "nanoseconds" => 1_000_000_000,
        _ => 100,
    };

    private static void ReadSampled(JsonElement profile, string[] frames, StackProfileBuilder builder, int index)
    {
        if (!profile.TryGetProperty("samples", out var samples) || samples.ValueKind != JsonValueKind.Array)
        {
            throw new ProfileFormatException($"speedscope: profiles[{index}]: sampled profile without samples");
        }
        double[]? weights = null;
        if (profile.TryGetProperty("weights", out var weightsElement) && weightsElement.ValueKind == JsonValueKind.Array)
        {
            if (weightsElement.GetArrayLength() != samples.GetArrayLength())
            {
                throw new ProfileFormatException($"speedscope: profiles[{index}]: {samples.GetArrayLength()} samples but {weightsElement.GetArrayLength()} weights");
            }
            weights = new double[weightsElement.GetArrayLength()];
            var k = 0;
            foreach (var weight in weightsElement.EnumerateArray())
            {
                weights[k++] = weight.ValueKind == JsonValueKind.Number && weight.TryGetDouble(out var w) ? w : throw new ProfileFormatException($"speedscope: profiles[{index}].weights[{k}] is not a number");
            }
        }
        var i = 0;
        foreach (var sample in samples.EnumerateArray())
        {
            if (sample.ValueKind != JsonValueKind.Array)
            {
                throw new ProfileFormatException($"speedscope: profiles[{index}].samples[{i}] is {Kind(sample)}, not an array of frame indices");
            }
            builder.BeginSample();
            foreach (var frameIndex in sample.EnumerateArray())
            {
                builder.PushFrame(Frame(frames, frameIndex, index, $"samples[{i}]"));
            }
            var value = weights is null ? 1L : (long)weights[i];
            builder.CommitSample(value);
            i++;
        }
    }

    private static void ReadEvented(JsonElement profile, string[] frames, StackProfileBuilder builder, int index)
    {
        if (!profile.TryGetProperty("events", out var events) || events.ValueKind != JsonValueKind.Array)
        {
            throw new ProfileFormatException($"speedscope: profiles[{index}]: evented profile without events");
        }
        var stack = new List<string>();
        double last = 0;
        var i = 0;
        foreach (var e in events.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Object)
            {
                throw new ProfileFormatException($"speedscope: profiles[{index}].events[{i}] is {Kind(e)}, not an object");
            }
            var at = e.TryGetProperty("at", out var atElement) && atElement.ValueKind == JsonValueKind.Number && atElement.TryGetDouble(out var atValue)
                ? atValue
                : throw new ProfileFormatException($"speedscope: profiles[{index}].events[{i}]: missing \"at\"");
            if (stack.Count > 0 && at > last)
            {
                builder.AddStack(stack, (long)(at - last));
            }
            last = at;
            var frame = Frame(frames, e.TryGetProperty("frame", out var fe) ? fe : default, index, $"events[{i}]");
            switch (String(e, "type"))
            {
                case "O":
                    stack.Add(frame);
                    break;
                case "C":
                    if (stack.Count == 0 || stack[^1] != frame)
                    {
                        throw new ProfileFormatException($"speedscope: profiles[{index}].events[{i}]: closing frame \"{frame}\" that is not open on top of the stack");
                    }
                    stack.RemoveAt(stack.Count - 1);
                    break;
                default:
                    throw new ProfileFormatException($"speedscope: profiles[{index}].events[{i}]: type must be \"O\" or \"C\"");
            }
            i++;
        }
    }

    /// <summary>A string property of <paramref name="element"/>; null when absent or of another type.</summary>
    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        _ => "a boolean",
    };

    private static string Frame(string[] frames, JsonElement element, int index, string where)
    {
        if (element.ValueKind == JsonValueKind.Number && element.TryGetInt32(out var f) && f >= 0 && f < frames.Length)
        {
            return frames[f];
        }
        throw new ProfileFormatException($"speedscope: profiles[{index}].{where}: frame index out of range (0..{frames.Length - 1})");
    }
}
