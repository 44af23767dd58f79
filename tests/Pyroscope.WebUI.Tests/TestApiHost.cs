using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Pyroscope.WebUI.Tests;

/// <summary>
/// A Kestrel host that maps the real UI endpoints and answers the querier APIs the UI calls from
/// decoded fixtures. It stands in for the querier until the monolith runs end to end; the flamebearer
/// and diff encodings follow PROTOCOL.md. Tenants "empty" (no data) and "broken" (HTTP 500) exercise
/// the UI's empty and error states.
/// </summary>
public sealed partial class TestApiHost : IAsyncDisposable
{
    public const string GoService = "go-app";
    public const string SyntheticService = "synthetic-10k";
    public const string CpuType = "process_cpu:cpu:nanoseconds:cpu:nanoseconds";
    public const int Buckets = 12;

    private sealed record TimedSample(StackSample Sample, long TimestampMs);
    private sealed record Dataset(string Service, string Name, string[] SampleTypes, string Period, List<TimedSample> Samples)
    {
        public string TypeId(int i) => $"{Name}:{SampleTypes[i]}:{Period}";
    }

    private readonly List<Dataset> _datasets = [];
    private WebApplication? _app;

    public long BaseTimeMs { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
    public string Url { get; private set; } = "";
    public ConcurrentQueue<string> Requests { get; } = new();
    public int SyntheticNodeCount { get; private set; }
    /// <summary>The synthetic service's stacks (root first) and cpu values, for independent expectations.</summary>
    public List<(string[] Frames, long Value, string Shard)> SyntheticStacks { get; } = [];

    /// <summary>
    /// Fixture sample i lands in bucket i % 12; bucket k is at now − 50 min + (4k + 2) min, so from −48 to −4 min. The
    /// UI's default range is the last hour from when a test opens its page: bucket 0 stays in it for 12 minutes after
    /// the host starts (it was 2.5, and a slow CI run opened the 10k-node page 2 m 50 s in, without bucket 0's nodes).
    /// </summary>
    public long BucketTime(int k) => BaseTimeMs - 3_000_000 + k * 240_000 + 120_000;

    public async Task StartAsync()
    {
        AddPprof(GoService, "go/go-cpu.pb.gz", "process_cpu", "cpu:nanoseconds");
        AddPprof(GoService, "go/go-heap.pb.gz", "memory", "space:bytes");
        AddSynthetic();

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Use(async (ctx, next) =>
        {
            Requests.Enqueue(ctx.Request.Method + " " + ctx.Request.Path + ctx.Request.QueryString);
            await next();
        });
        app.MapPyroscopeWebUI();
        app.MapPost("/querier.v1.QuerierService/{method}", HandleConnect);
        app.MapGet("/pyroscope/render", HandleRender);
        await app.StartAsync();
        _app = app;
        Url = app.Urls.First();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    private void AddPprof(string service, string fixture, string name, string period)
    {
        var profile = FixtureProfiles.Read(fixture);
        var stacks = FixtureProfiles.Stacks(profile);
        var timed = new List<TimedSample>(stacks.Count);
        for (var i = 0; i < stacks.Count; i++) timed.Add(new TimedSample(stacks[i], BucketTime(i % Buckets)));
        _datasets.Add(new Dataset(service, name, FixtureProfiles.SampleTypes(profile), period, timed));
    }

    // A deterministic tree of more than 10 000 distinct nodes, to measure rendering at scale.
    private void AddSynthetic()
    {
        var random = new Random(42);
        var tree = new FlameTree();
        var samples = new List<TimedSample>();
        var i = 0;
        while (tree.NodeCount() < 10_500)
        {
            for (var batch = 0; batch < 200; batch++, i++)
            {
                var depth = 4 + random.Next(22);
                var frames = new string[depth];
                for (var d = 0; d < depth; d++)
                    frames[d] = $"github.com/example/pkg{random.Next(d < 3 ? 3 : 12)}.Func{d}_{random.Next(d < 3 ? 4 : 9)}";
                var value = (long)(random.Next(1, 100) * 10_000_000L);
                tree.Add(frames, value);
                // Twelve shards: more values than the tag explorer draws lines for.
                var shard = $"shard-{i / 5 % 12:D2}";
                samples.Add(new TimedSample(new StackSample(frames, [value], new Dictionary<string, string> { ["shard"] = shard }), BucketTime(i % Buckets)));
                SyntheticStacks.Add((frames, value, shard));
            }
        }
        SyntheticNodeCount = tree.NodeCount();
        _datasets.Add(new Dataset(SyntheticService, "process_cpu", ["cpu:nanoseconds"], "cpu:nanoseconds", samples));
    }

    // ---------- selectors ----------
    [GeneratedRegex("""\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?""")]
    private static partial Regex MatcherRegex();

    private sealed record Matcher(string Name, string Op, string Value)
    {
        public bool Matches(string actual) => Op switch
        {
            "=" => actual == Value,
            "!=" => actual != Value,
            "=~" => Regex.IsMatch(actual, "^(?:" + Value + ")$"),
            _ => !Regex.IsMatch(actual, "^(?:" + Value + ")$"),
        };
    }

    private static List<Matcher> ParseSelector(string? selector)
    {
        var s = (selector ?? "").Trim();
        if (s.Length == 0 || s == "{}") return [];
        if (!s.StartsWith('{') || !s.EndsWith('}')) throw new BadRequestException($"invalid label selector: {s}");
        var result = new List<Matcher>();
        foreach (Match m in MatcherRegex().Matches(s[1..^1]))
            result.Add(new Matcher(m.Groups[1].Value, m.Groups[2].Value, Regex.Unescape(m.Groups[3].Value)));
        return result;
    }

    private static string LabelOf(Dataset d, StackSample s, string name) => name switch
    {
        "service_name" => d.Service,
        "__name__" => d.Name,
        _ => s.Labels.GetValueOrDefault(name, ""),
    };

    private static bool Matches(Dataset d, StackSample s, List<Matcher> matchers)
    {
        foreach (var m in matchers)
            if (!m.Matches(LabelOf(d, s, m.Name))) return false;
        return true;
    }

    private IEnumerable<(Dataset Data, TimedSample Sample)> Select(List<Matcher> matchers, long start, long end)
    {
        foreach (var d in _datasets)
            foreach (var t in d.Samples)
                if (t.TimestampMs >= start && t.TimestampMs < end && Matches(d, t.Sample, matchers))
                    yield return (d, t);
    }

    private FlameTree Tree(string typeId, string? selector, long start, long end)
    {
        var matchers = ParseSelector(selector);
        var tree = new FlameTree();
        foreach (var d in _datasets)
        {
            for (var i = 0; i < d.SampleTypes.Length; i++)
            {
                if (d.TypeId(i) != typeId) continue;
                foreach (var t in d.Samples)
                    if (t.TimestampMs >= start && t.TimestampMs < end && Matches(d, t.Sample, matchers))
                        tree.Add(t.Sample.Frames, t.Sample.Values[i]);
            }
        }
        return tree;
    }

    // ---------- handlers ----------
    private sealed class BadRequestException(string message) : Exception(message);

    private static long Int(JsonElement e, string name, long fallback = 0)
    {
        if (!e.TryGetProperty(name, out var v)) return fallback;
        return v.ValueKind == JsonValueKind.String ? long.Parse(v.GetString()!) : v.GetInt64();
    }

    private static string Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";

    private static List<string> Strings(JsonElement e, string name)
    {
        var list = new List<string>();
        if (e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array)
            foreach (var x in v.EnumerateArray()) list.Add(x.GetString() ?? "");
        return list;
    }

    private static IResult ConnectError(int status, string code, string message) =>
        Results.Json(new { code, message }, statusCode: status);

    private async Task<IResult> HandleConnect(HttpContext ctx, string method)
    {
        var tenant = ctx.Request.Headers["X-Scope-OrgID"].ToString();
        if (tenant == "broken") return ConnectError(500, "internal", "storage unavailable: simulated failure for tenant broken");
        try
        {
            if (method == "SelectMergeProfile") return await SelectMergeProfile(ctx, tenant);
            if (ctx.Request.ContentType?.StartsWith("application/json", StringComparison.Ordinal) != true)
                return ConnectError(415, "invalid_argument", "expected application/json");
            using var doc = await JsonDocument.ParseAsync(ctx.Request.Body);
            var body = doc.RootElement;
            var empty = tenant == "empty";
            return method switch
            {
                "ProfileTypes" => ProfileTypes(body, empty),
                "LabelNames" => LabelNames(body, empty),
                "LabelValues" => LabelValues(body, empty),
                "SelectSeries" => SelectSeries(body, empty),
                "Diff" => Diff(body, empty),
                _ => ConnectError(404, "unimplemented", $"method {method} is not implemented by the test host"),
            };
        }
        catch (BadRequestException e) { return ConnectError(400, "invalid_argument", e.Message); }
    }

    private IResult ProfileTypes(JsonElement body, bool empty)
    {
        var (start, end) = (Int(body, "start"), Int(body, "end", long.MaxValue));
        var types = new List<object>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (!empty)
        {
            foreach (var d in _datasets)
            {
                if (!d.Samples.Exists(t => t.TimestampMs >= start && t.TimestampMs < end)) continue;
                for (var i = 0; i < d.SampleTypes.Length; i++)
                {
                    var id = d.TypeId(i);
                    if (!seen.Add(id)) continue;
                    var parts = id.Split(':');
                    types.Add(new { ID = id, name = parts[0], sampleType = parts[1], sampleUnit = parts[2], periodType = parts[3], periodUnit = parts[4] });
                }
            }
        }
        return Results.Json(new { profileTypes = types });
    }

    private List<Matcher> MatchersOf(JsonElement body)
    {
        var all = new List<Matcher>();
        foreach (var s in Strings(body, "matchers")) all.AddRange(ParseSelector(s));
        return all;
    }

    private IResult LabelNames(JsonElement body, bool empty)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        if (!empty)
        {
            foreach (var (d, t) in Select(MatchersOf(body), Int(body, "start"), Int(body, "end", long.MaxValue)))
            {
                names.Add("__name__"); names.Add("service_name");
                foreach (var k in t.Sample.Labels.Keys) names.Add(k);
            }
        }
        return Results.Json(new { names });
    }

    private IResult LabelValues(JsonElement body, bool empty)
    {
        var name = Str(body, "name");
        var values = new SortedSet<string>(StringComparer.Ordinal);
        if (!empty)
        {
            foreach (var (d, t) in Select(MatchersOf(body), Int(body, "start"), Int(body, "end", long.MaxValue)))
            {
                if (name == "__profile_type__")
                    for (var i = 0; i < d.SampleTypes.Length; i++) values.Add(d.TypeId(i));
                else if (LabelOf(d, t.Sample, name) is { Length: > 0 } v)
                    values.Add(v);
            }
        }
        return Results.Json(new { names = values });
    }

    // One series per distinct value set of the group_by labels (none: one series), top `limit` by total.
    private IResult SelectSeries(JsonElement body, bool empty)
    {
        var typeId = Str(body, "profileTypeID");
        var matchers = ParseSelector(Str(body, "labelSelector"));
        var groupBy = Strings(body, "groupBy");
        var limit = Int(body, "limit");
        var (start, end) = (Int(body, "start"), Int(body, "end"));
        if (!body.TryGetProperty("step", out var step) || step.GetDouble() <= 0) throw new BadRequestException("step must be positive");
        var groups = new SortedDictionary<string, (List<object> Labels, SortedDictionary<long, double> Points)>(StringComparer.Ordinal);
        if (!empty)
        {
            foreach (var d in _datasets)
            {
                for (var i = 0; i < d.SampleTypes.Length; i++)
                {
                    if (d.TypeId(i) != typeId) continue;
                    foreach (var t in d.Samples)
                    {
                        if (t.TimestampMs < start || t.TimestampMs >= end || !Matches(d, t.Sample, matchers)) continue;
                        var labels = new List<object>();
                        var key = "";
                        if (groupBy.Count == 0) labels.Add(new { name = "service_name", value = d.Service });
                        foreach (var name in groupBy)
                        {
                            if (LabelOf(d, t.Sample, name) is not { Length: > 0 } v) continue;
                            labels.Add(new { name, value = v });
                            key += name + "=" + v + ";";
                        }
                        if (!groups.TryGetValue(key, out var g)) groups[key] = g = (labels, new SortedDictionary<long, double>());
                        g.Points[t.TimestampMs] = g.Points.GetValueOrDefault(t.TimestampMs) + t.Sample.Values[i];
                    }
                }
            }
        }
        var kept = groups.Values.ToList();
        if (limit > 0 && kept.Count > limit) kept = kept.OrderByDescending(g => g.Points.Values.Sum()).Take((int)limit).ToList();
        // int64 timestamps as JSON strings, as proto3 JSON writes them.
        var series = kept.Select(g => new { labels = g.Labels, points = g.Points.Select(p => new { value = p.Value, timestamp = p.Key.ToString() }).ToArray() }).ToArray();
        return Results.Json(new { series });
    }

    private IResult Diff(JsonElement body, bool empty)
    {
        FlameTree Side(string name)
        {
            if (!body.TryGetProperty(name, out var side)) throw new BadRequestException($"{name} is required");
            return empty ? new FlameTree() : Tree(Str(side, "profileTypeID"), Str(side, "labelSelector"), Int(side, "start"), Int(side, "end"));
        }
        var left = Side("left");
        var right = Side("right");
        var (names, levels, maxSelf) = FlameTree.Diff(left, right);
        return Results.Json(new
        {
            flamegraph = new
            {
                names,
                levels = levels.Select(l => new { values = l.Select(v => v.ToString()).ToArray() }),
                total = (left.Root.Total + right.Root.Total).ToString(),
                maxSelf = maxSelf.ToString(),
                leftTicks = left.Root.Total.ToString(),
                rightTicks = right.Root.Total.ToString(),
            },
        });
    }

    public string? LastMergeProfileRequest { get; private set; }

    // Decodes the hand-encoded protobuf request from the UI and answers the original fixture profile.
    private async Task<IResult> SelectMergeProfile(HttpContext ctx, string tenant)
    {
        if (ctx.Request.ContentType != "application/proto") return ConnectError(415, "invalid_argument", "expected application/proto");
        using var buffer = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(buffer);
        var input = new CodedInputStream(buffer.ToArray());
        string typeId = "", selector = "";
        long start = 0, end = 0;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (tag >> 3)
            {
                case 1: typeId = input.ReadString(); break;
                case 2: selector = input.ReadString(); break;
                case 3: start = input.ReadInt64(); break;
                case 4: end = input.ReadInt64(); break;
                default: input.SkipLastField(); break;
            }
        }
        LastMergeProfileRequest = $"{typeId}|{selector}|{start}|{end}";
        if (typeId != CpuType || !selector.Contains($"service_name=\"{GoService}\"") || start <= 0 || end <= start || tenant == "empty")
            return ConnectError(404, "not_found", $"no profile for {typeId}{selector}");
        return Results.Bytes(FixtureProfiles.ReadRaw("go/go-cpu.pb.gz"), "application/proto");
    }

    private IResult HandleRender(HttpContext ctx)
    {
        var tenant = ctx.Request.Headers["X-Scope-OrgID"].ToString();
        if (tenant == "broken") return Results.Json(new { code = "internal", message = "render failed: simulated failure" }, statusCode: 500);
        var query = ctx.Request.Query["query"].ToString();
        var brace = query.IndexOf('{');
        if (brace < 0) return Results.Json(new { code = "invalid_argument", message = "query must be <profile type>{selector}" }, statusCode: 400);
        var typeId = query[..brace];
        if (!long.TryParse(ctx.Request.Query["from"], out var from) || !long.TryParse(ctx.Request.Query["until"], out var until))
            return Results.Json(new { code = "invalid_argument", message = "from/until must be unix ms in this test host" }, statusCode: 400);
        FlameTree tree;
        try { tree = tenant == "empty" ? new FlameTree() : Tree(typeId, query[brace..], from, until); }
        catch (BadRequestException e) { return Results.Json(new { code = "invalid_argument", message = e.Message }, statusCode: 400); }
        var (names, levels, maxSelf) = tree.Single();
        var unit = typeId.Split(':') is { Length: 5 } p ? p[2] : "";
        return Results.Json(new
        {
            version = 1,
            flamebearer = new { names, levels, numTicks = tree.Root.Total, maxSelf },
            metadata = new { format = "single", spyName = "gospy", sampleRate = 100, units = unit, name = typeId },
            timeline = new { startTime = from / 1000, samples = Array.Empty<long>(), durationDelta = 15 },
        });
    }
}
