using Pyroscope.Api;
using Pyroscope.Api.Limits;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pprof = Pyroscope.Contracts.Google.V1;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier;

/// <summary>
/// The querier's logic, independent of transport: validates a querier.v1 request against the
/// tenant's limits, reads through <see cref="IProfileReader"/> and renders the answer. Bad requests
/// raise <see cref="ApiException"/> (invalid_argument) naming what was wrong.
/// </summary>
public sealed partial class QueryEngine(IProfileReader reader, ITenantLimitsProvider limits, TimeProvider time)
{
    /// <summary>Upper bound for max_nodes, as upstream.</summary>
    public const long MaxNodesLimit = 1_048_576;

    /// <summary>Points per series above which a SelectSeries step is refused (Prometheus' bound).</summary>
    public const long MaxPointsPerSeries = 11_000;

    public async Task<ProfileTypesResponse> ProfileTypesAsync(string tenant, ProfileTypesRequest request, CancellationToken ct)
    {
        var range = MetadataRange(tenant, request.Start, request.End);
        var response = new ProfileTypesResponse();
        if (range is null)
        {
            return response;
        }
        var types = await reader.ProfileTypesAsync(tenant, range.Value, ct).ConfigureAwait(false);
        // Sources overlap (head, blocks, replicas): one entry per id, sorted.
        var unique = new SortedDictionary<string, ProfileTypeId>(StringComparer.Ordinal);
        foreach (var t in types)
        {
            unique.TryAdd(t.Id, t);
        }
        foreach (var t in unique.Values)
        {
            response.ProfileTypes.Add(ToProto(t));
        }
        return response;
    }

    public async Task<TypesV1.LabelNamesResponse> LabelNamesAsync(string tenant, TypesV1.LabelNamesRequest request, CancellationToken ct)
    {
        var range = MetadataRange(tenant, request.Start, request.End);
        var response = new TypesV1.LabelNamesResponse();
        if (range is null)
        {
            return response;
        }
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var matchers in MatcherSets(request.Matchers))
        {
            names.UnionWith(await reader.LabelNamesAsync(tenant, matchers, range.Value, ct).ConfigureAwait(false));
        }
        response.Names.AddRange(names);
        return response;
    }

    public async Task<TypesV1.LabelValuesResponse> LabelValuesAsync(string tenant, TypesV1.LabelValuesRequest request, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(request.Name))
        {
            throw ApiException.InvalidArgument("label name is required");
        }
        var range = MetadataRange(tenant, request.Start, request.End);
        var response = new TypesV1.LabelValuesResponse();
        if (range is null)
        {
            return response;
        }
        var values = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var matchers in MatcherSets(request.Matchers))
        {
            values.UnionWith(await reader.LabelValuesAsync(tenant, request.Name, matchers, range.Value, ct).ConfigureAwait(false));
        }
        response.Names.AddRange(values);
        return response;
    }

    public async Task<SeriesResponse> SeriesAsync(string tenant, SeriesRequest request, CancellationToken ct)
    {
        var range = MetadataRange(tenant, request.Start, request.End);
        var response = new SeriesResponse();
        if (range is null)
        {
            return response;
        }
        var seen = new Dictionary<ulong, LabelSet>();
        foreach (var matchers in MatcherSets(request.Matchers))
        {
            foreach (var series in await reader.SeriesAsync(tenant, matchers, range.Value, ct).ConfigureAwait(false))
            {
                var projected = Project(series, request.LabelNames);
                seen.TryAdd(projected.Fingerprint, projected);
            }
        }
        var ordered = new List<LabelSet>(seen.Values);
        ordered.Sort(static (a, b) => string.CompareOrdinal(a.ToString(), b.ToString()));
        foreach (var labels in ordered)
        {
            response.LabelsSet.Add(ToProto(labels));
        }
        return response;
    }

    public async Task<SelectMergeStacktracesResponse> SelectMergeStacktracesAsync(string tenant, SelectMergeStacktracesRequest request, CancellationToken ct)
    {
        var selection = SampleSelection.Of(request.ProfileIdSelector, request.TraceIdSelector, request.SpanSelector, request.StackTraceSelector);
        var type = ParseProfileType(request.ProfileTypeID);
        var matchers = Matchers(type, request.LabelSelector);
        switch (request.Format)
        {
            case ProfileFormat.Pprof:
                // As SelectMergeProfile: not truncated unless asked to.
                var profile = await MergeProfileAsync(tenant, type, matchers, request.Start, request.End, selection,
                    request.HasMaxNodes ? MaxNodes(request.MaxNodes) : 0, ct).ConfigureAwait(false);
                return new SelectMergeStacktracesResponse { Pprof = new PprofProfile { Profile = profile } };
            case ProfileFormat.Dot:
                var dot = await DotAsync(tenant, type, matchers, request.Start, request.End, selection, request.HasMaxNodes ? request.MaxNodes : null, ct).ConfigureAwait(false);
                return new SelectMergeStacktracesResponse { Dot = dot };
            case ProfileFormat.Tree or ProfileFormat.Flamegraph or ProfileFormat.Unspecified:
                var maxNodes = MaxNodes(request.HasMaxNodes ? request.MaxNodes : null);
                var tree = await MergeAsync(tenant, matchers, request.Start, request.End, selection, ct).ConfigureAwait(false);
                return request.Format == ProfileFormat.Tree
                    ? new SelectMergeStacktracesResponse { Tree = Google.Protobuf.ByteString.CopyFrom(TreeExports.ToTreeBytes(tree, maxNodes)) }
                    : new SelectMergeStacktracesResponse { Flamegraph = FlameGraphData.From(tree, maxNodes).ToProto() };
            default:
                throw ApiException.InvalidArgument($"format: unknown profile format {(int)request.Format} (expected PROFILE_FORMAT_FLAMEGRAPH, _TREE, _DOT or _PPROF)");
        }
    }

    public async Task<SelectMergeSpanProfileResponse> SelectMergeSpanProfileAsync(string tenant, SelectMergeSpanProfileRequest request, CancellationToken ct)
    {
        var maxNodes = MaxNodes(request.HasMaxNodes ? request.MaxNodes : null);
        // An empty span selector selects no span, so nothing, unlike the optional selectors of the other requests.
        var spans = SampleSelection.SpanIdSet(request.SpanSelector, "span_selector") ?? new HashSet<string>();
        var type = ParseProfileType(request.ProfileTypeID);
        var tree = await MergeAsync(tenant, Matchers(type, request.LabelSelector), request.Start, request.End, SampleSelection.All with { SpanIds = spans }, ct).ConfigureAwait(false);
        return request.Format == ProfileFormat.Tree
            ? new SelectMergeSpanProfileResponse { Tree = Google.Protobuf.ByteString.CopyFrom(TreeExports.ToTreeBytes(tree, maxNodes)) }
            : new SelectMergeSpanProfileResponse { Flamegraph = FlameGraphData.From(tree, maxNodes).ToProto() };
    }

    public async Task<Pprof.Profile> SelectMergeProfileAsync(string tenant, SelectMergeProfileRequest request, CancellationToken ct)
    {
        var selection = SampleSelection.Of(request.ProfileIdSelector, request.TraceIdSelector, [], request.StackTraceSelector);
        // Unlike flame graphs, a pprof export is not truncated unless asked to.
        var maxNodes = request.HasMaxNodes ? MaxNodes(request.MaxNodes) : 0;
        var type = ParseProfileType(request.ProfileTypeID);
        return await MergeProfileAsync(tenant, type, Matchers(type, request.LabelSelector), request.Start, request.End, selection, maxNodes, ct).ConfigureAwait(false);
    }

    /// <summary>
    /// The matching samples as one pprof profile with everything stored: mappings (file names, build ids),
    /// functions (names, system names, file names, start lines), locations (addresses, inline lines).
    /// </summary>
    public async Task<Pprof.Profile> MergeProfileAsync(
        string tenant, ProfileTypeId type, IReadOnlyList<LabelMatcher> matchers, long start, long end,
        SampleSelection selection, long maxNodes, CancellationToken ct)
    {
        var range = SelectRange(tenant, start, end);
        var merger = new PprofMerger();
        if (range is not null)
        {
            await reader.MergeProfileAsync(tenant, selection.On(matchers, range.Value), merger, ct).ConfigureAwait(false);
        }
        return merger.ToProfile(type, range ?? new TimeRange(start, end), maxNodes, selection.CallSite);
    }

    public async Task<DiffResponse> DiffAsync(string tenant, DiffRequest request, CancellationToken ct)
    {
        if (request.Left is null || request.Right is null)
        {
            throw ApiException.InvalidArgument("diff needs both a left and a right request");
        }
        var maxNodes = MaxNodes(request.Left.HasMaxNodes ? request.Left.MaxNodes : request.Right.HasMaxNodes ? request.Right.MaxNodes : null);
        var left = await MergeSideAsync(tenant, request.Left, "left.", ct).ConfigureAwait(false);
        var right = await MergeSideAsync(tenant, request.Right, "right.", ct).ConfigureAwait(false);
        return new DiffResponse { Flamegraph = FlameGraphDiffData.From(left, right, maxNodes).ToProto() };
    }

    /// <summary>One side of a diff, with every selector of its request honoured.</summary>
    private Task<StackTree> MergeSideAsync(string tenant, SelectMergeStacktracesRequest side, string field, CancellationToken ct)
    {
        var selection = SampleSelection.Of(side.ProfileIdSelector, side.TraceIdSelector, side.SpanSelector, side.StackTraceSelector, field);
        var type = ParseProfileType(side.ProfileTypeID);
        return MergeAsync(tenant, Matchers(type, side.LabelSelector), side.Start, side.End, selection, ct);
    }

    public async Task<TypesV1.GetProfileStatsResponse> GetProfileStatsAsync(string tenant, CancellationToken ct)
    {
        var stats = await reader.StatsAsync(tenant, ct).ConfigureAwait(false);
        return new TypesV1.GetProfileStatsResponse
        {
            DataIngested = stats.DataIngested,
            OldestProfileTime = stats.OldestProfileMs,
            NewestProfileTime = stats.NewestProfileMs,
        };
    }

    public async Task<AnalyzeQueryResponse> AnalyzeQueryAsync(string tenant, AnalyzeQueryRequest request, CancellationToken ct)
    {
        var parsed = Parse(request.Query);
        var range = SelectRange(tenant, request.Start, request.End);
        var response = new AnalyzeQueryResponse { QueryImpact = new QueryImpact() };
        if (range is null)
        {
            return response;
        }
        var series = await reader.SeriesAsync(tenant, parsed.Matchers, range.Value, ct).ConfigureAwait(false);
        var totals = await reader.ProfileTotalsAsync(tenant, new SelectQuery(parsed.Matchers, range.Value), ct).ConfigureAwait(false);
        response.QueryScopes.Add(new QueryScope
        {
            ComponentType = "profile store",
            ComponentCount = 1,
            SeriesCount = (ulong)series.Count,
            ProfileCount = (ulong)totals.Count,
        });
        response.QueryImpact.TotalQueriedSeries = (ulong)series.Count;
        return response;
    }

    /// <summary>
    /// Merges the stacks matching <paramref name="matchers"/> (which carry the profile type) and
    /// <paramref name="selection"/> into a tree. The readers apply the call site, so stacks outside it never travel.
    /// </summary>
    public async Task<StackTree> MergeAsync(
        string tenant, IReadOnlyList<LabelMatcher> matchers, long start, long end, SampleSelection selection, CancellationToken ct)
    {
        var range = SelectRange(tenant, start, end);
        var tree = new StackTree();
        if (range is null)
        {
            return tree;
        }
        await reader.MergeStacksAsync(tenant, selection.On(matchers, range.Value), tree, ct).ConfigureAwait(false);
        return tree;
    }

    /// <summary>The profile type of a selector plus its matchers; refuses selectors without a type.</summary>
    public static (ProfileTypeId Type, IReadOnlyList<LabelMatcher> Matchers) ParseTypedQuery(string? query, string what)
    {
        if (string.IsNullOrWhiteSpace(query))
        {
            throw ApiException.InvalidArgument($"'{what}' is required");
        }
        var parsed = Parse(query);
        if (parsed.ProfileType is null)
        {
            throw ApiException.InvalidArgument($"'{what}' must contain a profile-type selection, e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds{{service_name=\"app\"}}");
        }
        return (parsed.ProfileType, parsed.Matchers);
    }

    public static ProfileTypeId ParseProfileType(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            throw ApiException.InvalidArgument("profile_typeID is required (name:sample_type:sample_unit:period_type:period_unit)");
        }
        if (!ProfileTypeId.TryParse(id, out var type))
        {
            throw ApiException.InvalidArgument($"invalid profile type \"{id}\": expected name:sample_type:sample_unit:period_type:period_unit, e.g. process_cpu:cpu:nanoseconds:cpu:nanoseconds");
        }
        return type;
    }

    public static ParsedSelector Parse(string? selector)
    {
        try
        {
            return SelectorParser.Parse(selector);
        }
        catch (SelectorParseException e)
        {
            throw ApiException.InvalidArgument(e.Message, e);
        }
    }

    public static long MaxNodes(long? requested)
    {
        if (requested is null or 0)
        {
            return FlameGraphData.DefaultMaxNodes;
        }
        if (requested < 0)
        {
            throw ApiException.InvalidArgument($"max_nodes must not be negative, got {requested}");
        }
        return Math.Min(requested.Value, MaxNodesLimit);
    }

    /// <summary>
    /// The range a select query may read, after the tenant's limits: from &gt; until and a range
    /// longer than max_query_length are refused; the part older than max_query_lookback is cut
    /// off (null when nothing remains), as upstream does. Bounds are clamped to 1970…9999 first.
    /// </summary>
    public TimeRange? SelectRange(string tenant, long start, long end)
    {
        CheckOrder(start, end);
        (start, end) = (QueryTime.ClampMs(start), QueryTime.ClampMs(end));
        var l = limits.For(tenant);
        if (l.MaxQueryLength > TimeSpan.Zero && end - start > (long)l.MaxQueryLength.TotalMilliseconds)
        {
            throw ApiException.InvalidArgument(
                $"the query time range exceeds the limit (query length: {DurationText.Format(TimeSpan.FromMilliseconds(end - start))}, limit: {DurationText.Format(l.MaxQueryLength)}) (max_query_length)");
        }
        return Lookback(l, start, end);
    }

    /// <summary>Metadata queries may omit the range (0, 0): they then cover the lookback window.</summary>
    private TimeRange? MetadataRange(string tenant, long start, long end)
    {
        CheckOrder(start, end);
        var l = limits.For(tenant);
        if (start == 0 && end == 0)
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var window = l.MaxQueryLookback > TimeSpan.Zero ? (long)l.MaxQueryLookback.TotalMilliseconds : now;
            return new TimeRange(Math.Max(0, now - window), now);
        }
        return Lookback(l, QueryTime.ClampMs(start), QueryTime.ClampMs(end));
    }

    private static void CheckOrder(long start, long end)
    {
        if (start > end)
        {
            throw ApiException.InvalidArgument($"invalid time range: start ({start}) is after end ({end})");
        }
    }

    private TimeRange? Lookback(TenantLimits l, long start, long end)
    {
        if (l.MaxQueryLookback <= TimeSpan.Zero)
        {
            return new TimeRange(start, end);
        }
        var oldest = Saturating.Add(time.GetUtcNow().ToUnixTimeMilliseconds(), -(long)l.MaxQueryLookback.TotalMilliseconds);
        if (end < oldest)
        {
            return null;
        }
        return new TimeRange(Math.Max(start, oldest), end);
    }

    private static IReadOnlyList<LabelMatcher> Matchers(ProfileTypeId type, string labelSelector)
    {
        var parsed = Parse(string.IsNullOrWhiteSpace(labelSelector) ? "{}" : labelSelector);
        var result = new List<LabelMatcher>(parsed.Matchers.Count + 1) { new(LabelNames.ProfileType, Model.MatchType.Equal, type.Id) };
        foreach (var m in parsed.Matchers)
        {
            if (m.Name != LabelNames.ProfileType)
            {
                result.Add(m);
            }
        }
        return result;
    }

    private static IEnumerable<IReadOnlyList<LabelMatcher>> MatcherSets(IReadOnlyList<string> selectors)
    {
        var any = false;
        foreach (var s in selectors)
        {
            if (string.IsNullOrWhiteSpace(s))
            {
                continue;
            }
            any = true;
            yield return Parse(s).Matchers;
        }
        if (!any)
        {
            yield return [];
        }
    }

    private static LabelSet Project(LabelSet labels, IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            return labels;
        }
        var kept = new List<Label>(names.Count);
        foreach (var n in names)
        {
            if (labels.Get(n) is { } v)
            {
                kept.Add(new Label(n, v));
            }
        }
        return LabelSet.From(kept);
    }

    public static TypesV1.ProfileType ToProto(ProfileTypeId t) => new()
    {
        ID = t.Id,
        Name = t.Name,
        SampleType = t.SampleType,
        SampleUnit = t.SampleUnit,
        PeriodType = t.PeriodType,
        PeriodUnit = t.PeriodUnit,
    };

    private static TypesV1.Labels ToProto(LabelSet labels)
    {
        var result = new TypesV1.Labels();
        foreach (var label in labels.Labels)
        {
            result.Labels_.Add(new TypesV1.LabelPair { Name = label.Name, Value = label.Value });
        }
        return result;
    }
}
