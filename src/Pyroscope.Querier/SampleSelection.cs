using Google.Protobuf.Collections;
using Pyroscope.Api;
using Pyroscope.Model;
using TypesV1 = Pyroscope.Contracts.Types.V1;

namespace Pyroscope.Querier;

/// <summary>
/// Which profiles and samples of the selected series a request wants: upstream's profile_id_selector,
/// trace_id_selector, span_selector and stack_trace_selector (call site), validated. A malformed id is refused with
/// invalid_argument naming the field; well-formed ids that match nothing select nothing.
/// </summary>
public sealed record SampleSelection(
    IReadOnlySet<string>? ProfileIds, IReadOnlySet<string>? TraceIds, IReadOnlySet<string>? SpanIds, IReadOnlyList<string>? CallSite)
{
    public static readonly SampleSelection All = new(null, null, null, null);

    /// <summary>The select query over <paramref name="matchers"/> and <paramref name="range"/> with this selection.</summary>
    public SelectQuery On(IReadOnlyList<LabelMatcher> matchers, TimeRange range) =>
        new(matchers, range) { ProfileIds = ProfileIds, TraceIds = TraceIds, SpanIds = SpanIds, CallSite = CallSite };

    public static SampleSelection Of(
        RepeatedField<string> profileIds, RepeatedField<string> traceIds, RepeatedField<string> spanIds, TypesV1.StackTraceSelector? stackTraceSelector,
        string prefix = "")
    {
        if (traceIds.Count > 0 && spanIds.Count > 0)
        {
            throw ApiException.InvalidArgument($"{prefix}span_selector and {prefix}trace_id_selector cannot be combined");
        }
        return new SampleSelection(
            ProfileIdSet(profileIds, prefix + "profile_id_selector"),
            TraceIdSet(traceIds, prefix + "trace_id_selector"),
            SpanIdSet(spanIds, prefix + "span_selector"),
            CallSiteOf(stackTraceSelector));
    }

    /// <summary>Profile ids are UUIDs (any form <see cref="Guid"/> reads); stored ones are lowercase with hyphens.</summary>
    public static IReadOnlySet<string>? ProfileIdSet(RepeatedField<string> ids, string field)
    {
        if (ids.Count == 0)
        {
            return null;
        }
        var set = new HashSet<string>(ids.Count, StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (!Guid.TryParse(id, out var guid))
            {
                throw ApiException.InvalidArgument($"{field}: \"{Shorten(id)}\" is not a profile id (a UUID such as 7c9e6679-7425-40de-944b-e07fc1f90ae7)");
            }
            set.Add(guid.ToString("D"));
        }
        return set;
    }

    /// <summary>Trace ids are 32 hex characters, as upstream requires.</summary>
    public static IReadOnlySet<string>? TraceIdSet(RepeatedField<string> ids, string field)
    {
        if (ids.Count == 0)
        {
            return null;
        }
        var set = new HashSet<string>(ids.Count, StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (id.Length != 32 || !TraceContextIds.TryParseTraceId(id, out var trace))
            {
                throw ApiException.InvalidArgument($"{field}: \"{Shorten(id)}\" is not a trace id (32 hex characters, not all zero)");
            }
            set.Add(TraceContextIds.FormatTraceId(trace));
        }
        return set;
    }

    /// <summary>Span ids are 16 hex characters, as upstream requires.</summary>
    public static IReadOnlySet<string>? SpanIdSet(RepeatedField<string> ids, string field)
    {
        if (ids.Count == 0)
        {
            return null;
        }
        var set = new HashSet<string>(ids.Count, StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (id.Length != 16 || !TraceContextIds.TryParseSpanId(id, out var span))
            {
                throw ApiException.InvalidArgument($"{field}: \"{Shorten(id)}\" is not a span id (16 hex characters, not all zero)");
            }
            set.Add(TraceContextIds.FormatSpanId(span));
        }
        return set;
    }

    /// <summary>The call site's frame names, root first; null when the selector has none (upstream ignores an empty one).</summary>
    public static IReadOnlyList<string>? CallSiteOf(TypesV1.StackTraceSelector? selector)
    {
        if (selector is not { CallSite.Count: > 0 })
        {
            return null;
        }
        var names = new string[selector.CallSite.Count];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = selector.CallSite[i].Name;
        }
        return names;
    }

    private static string Shorten(string id) => id.Length <= 64 ? id : id[..64] + "…";
}
