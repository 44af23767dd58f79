using System.Buffers;
using System.Globalization;
using Pyroscope.Model;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Query;

/// <summary>
/// What a <see cref="SelectQuery"/> asks of single profiles and samples beyond series and time, parsed once per query:
/// profile ids, span ids, trace ids (as stored: numbers) and the call site. Ids that cannot be stored (malformed) match
/// nothing; the querier refuses them before they get here.
/// </summary>
internal sealed class SampleFilter
{
    public static readonly SampleFilter None = new(null, null, null, null, false);

    private SampleFilter(IReadOnlySet<string>? profileIds, HashSet<ulong>? spanIds, HashSet<UInt128>? traceIds, string[]? callSite, bool totalsPerSpan)
    {
        ProfileIds = profileIds;
        SpanIds = spanIds;
        TraceIds = traceIds;
        CallSite = callSite;
        TotalsPerSpan = totalsPerSpan;
    }

    /// <summary>Only these profiles count (null: all).</summary>
    public IReadOnlySet<string>? ProfileIds { get; }

    public HashSet<ulong>? SpanIds { get; }

    public HashSet<UInt128>? TraceIds { get; }

    /// <summary>Root-first frame names every counted stack starts with (null: any stack).</summary>
    public string[]? CallSite { get; }

    public bool TotalsPerSpan { get; }

    /// <summary>Whether single samples are filtered (span, trace or call site), so sample columns must be read.</summary>
    public bool FiltersSamples => SpanIds is not null || TraceIds is not null || CallSite is not null;

    public static SampleFilter Of(SelectQuery query)
    {
        if (query.ProfileIds is null && !query.FiltersSamples)
        {
            return None;
        }
        HashSet<ulong>? spans = null;
        if (query.SpanIds is { } spanText)
        {
            spans = [];
            foreach (var s in spanText)
            {
                if (ulong.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var v) && v != 0)
                {
                    spans.Add(v);
                }
            }
        }
        HashSet<UInt128>? traces = null;
        if (query.TraceIds is { } traceText)
        {
            traces = [];
            foreach (var t in traceText)
            {
                if (TraceContextIds.TryParseTraceId(t, out var v))
                {
                    traces.Add(v);
                }
            }
        }
        var callSite = query.CallSite is { Count: > 0 } names ? names.ToArray() : null;
        return new SampleFilter(query.ProfileIds, spans, traces, callSite, query.TotalsPerSpan);
    }

    public bool IncludesProfile(string profileId) => ProfileIds is null || ProfileIds.Contains(profileId);

    /// <summary>Whether sample <paramref name="row"/> counts, given the call-site mask of its source (null: no call site).</summary>
    public bool Accepts(SampleColumns samples, int row, bool[]? callSiteMask)
    {
        if (SpanIds is not null)
        {
            var span = samples.SpanOf(row);
            if (span == 0 || !SpanIds.Contains(span))
            {
                return false;
            }
        }
        if (TraceIds is not null)
        {
            var trace = samples.TraceOf(row);
            if (trace == 0 || !TraceIds.Contains(trace))
            {
                return false;
            }
        }
        return callSiteMask is null || callSiteMask[samples.StackId[row]];
    }

    /// <summary>
    /// For every stack tree node of <paramref name="symbols"/>: whether the stack ending there starts with the call site
    /// (frames as flame graphs name them: a location's lines innermost last, address-only locations as <c>0x…</c>).
    /// Null without a call site. Pooled: hand it back with <see cref="ReturnMask"/>.
    /// </summary>
    public bool[]? CallSiteMask(SymbolSnapshot symbols)
    {
        if (CallSite is null)
        {
            return null;
        }
        var nodes = symbols.NodeCount;
        var mask = ArrayPool<bool>.Shared.Rent(Math.Max(1, nodes));
        // Matched frames of the call site so far per node; -1 once a frame differs.
        var matched = ArrayPool<int>.Shared.Rent(Math.Max(1, nodes));
        try
        {
            var full = CallSite.Length;
            for (var node = 0; node < nodes; node++)
            {
                var parent = symbols.NodeParent[node];
                var state = parent < 0 ? 0 : matched[parent];
                if (state >= 0 && state < full)
                {
                    state = Extend(symbols, symbols.NodeLocation[node], state);
                }
                matched[node] = state;
                mask[node] = state == full;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(matched);
        }
        return mask;
    }

    public static void ReturnMask(bool[]? mask)
    {
        if (mask is not null)
        {
            ArrayPool<bool>.Shared.Return(mask);
        }
    }

    private int Extend(SymbolSnapshot symbols, int location, int state)
    {
        var callSite = CallSite!;
        var lineStart = symbols.LocationLineStart[location];
        var lineCount = symbols.LocationLineCount[location];
        if (lineCount == 0)
        {
            var name = "0x" + symbols.LocationAddress[location].ToString("x", CultureInfo.InvariantCulture);
            return name == callSite[state] ? state + 1 : -1;
        }
        for (var l = lineStart + lineCount - 1; l >= lineStart && state < callSite.Length; l--)
        {
            if (!string.Equals(symbols.Strings[symbols.FunctionName[symbols.LineFunction[l]]], callSite[state], StringComparison.Ordinal))
            {
                return -1;
            }
            state++;
        }
        return state;
    }
}
