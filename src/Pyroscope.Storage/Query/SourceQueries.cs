using System.Buffers;
using System.Globalization;
using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Query;

/// <summary>
/// Query operations over one source's index, samples and symbols, shared by heads and blocks; callers merge the
/// answers of several sources.
/// </summary>
internal static class SourceQueries
{
    private static readonly IReadOnlyList<LabelMatcher> NoMatchers = [];

    public static void CollectProfileTypes(SeriesIndex index, TimeRange range, HashSet<string> into)
    {
        foreach (var id in index.Match(NoMatchers, range))
        {
            var type = index.Series[id].Get(LabelNames.ProfileType);
            if (type is not null)
            {
                into.Add(type);
            }
        }
    }

    public static void CollectLabelNames(SeriesIndex index, IReadOnlyList<LabelMatcher> matchers, TimeRange range, HashSet<string> into)
    {
        foreach (var id in index.Match(matchers, range))
        {
            foreach (var label in index.Series[id].Labels)
            {
                into.Add(label.Name);
            }
        }
    }

    public static void CollectLabelValues(SeriesIndex index, string name, IReadOnlyList<LabelMatcher> matchers, TimeRange range, HashSet<string> into)
    {
        foreach (var id in index.Match(matchers, range))
        {
            var value = index.Series[id].Get(name);
            if (!string.IsNullOrEmpty(value))
            {
                into.Add(value);
            }
        }
    }

    public static void CollectSeries(SeriesIndex index, IReadOnlyList<LabelMatcher> matchers, TimeRange range, HashSet<LabelSet> into)
    {
        foreach (var id in index.Match(matchers, range))
        {
            into.Add(index.Series[id]);
        }
    }

    /// <summary>
    /// One total per matching profile from the index alone (no sample filter). <paramref name="seen"/> holds profile ids
    /// already counted by other sources (replicas write the same profile).
    /// </summary>
    public static void CollectTotals(SeriesIndex index, ProfileTable profiles, List<int> seriesIds, TimeRange range, SampleFilter filter, HashSet<string>? seen, List<ProfileTotal> into)
    {
        foreach (var seriesId in seriesIds)
        {
            var labels = index.Series[seriesId];
            foreach (var row in index.SeriesProfiles[seriesId].Span)
            {
                var ts = profiles.TimestampMs[row];
                var id = profiles.ProfileId[row];
                if (range.Contains(ts) && filter.IncludesProfile(id) && FirstSighting(seen, id))
                {
                    into.Add(new ProfileTotal(labels, ts, profiles.Total[row], id));
                }
            }
        }
    }

    /// <summary>
    /// Totals from the samples that pass <paramref name="filter"/> (span, trace, call site): one per matching profile,
    /// or with <see cref="SampleFilter.TotalsPerSpan"/> one per (profile, span id, trace id) of samples carrying either.
    /// </summary>
    public static void CollectSampleTotals(SeriesIndex index, ProfileTable profiles, ISampleProvider sampleProvider, List<int> seriesIds,
        TimeRange range, SampleFilter filter, bool[]? callSiteMask, HashSet<string>? seen, List<ProfileTotal> into)
    {
        var perSpan = filter.TotalsPerSpan ? new Dictionary<(ulong Span, UInt128 Trace), long>() : null;
        foreach (var seriesId in seriesIds)
        {
            var labels = index.Series[seriesId];
            var samples = sampleProvider.SamplesOf(seriesId);
            var values = samples.Value;
            foreach (var row in index.SeriesProfiles[seriesId].Span)
            {
                var ts = profiles.TimestampMs[row];
                var id = profiles.ProfileId[row];
                if (!range.Contains(ts) || !filter.IncludesProfile(id) || !FirstSighting(seen, id))
                {
                    continue;
                }
                var start = profiles.SampleStart[row];
                var end = start + profiles.SampleCount[row];
                if (perSpan is null)
                {
                    long total = 0;
                    for (var i = start; i < end; i++)
                    {
                        if (filter.Accepts(samples, i, callSiteMask))
                        {
                            total = Saturating.Add(total, values[i]);
                        }
                    }
                    into.Add(new ProfileTotal(labels, ts, total, id));
                    continue;
                }
                perSpan.Clear();
                for (var i = start; i < end; i++)
                {
                    var key = (samples.SpanOf(i), samples.TraceOf(i));
                    if ((key.Item1 != 0 || key.Item2 != 0) && filter.Accepts(samples, i, callSiteMask))
                    {
                        ref var sum = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(perSpan, key, out _);
                        sum = Saturating.Add(sum, values[i]);
                    }
                }
                foreach (var ((span, trace), value) in perSpan)
                {
                    into.Add(new ProfileTotal(labels, ts, value, id) { SpanId = span, TraceId = trace });
                }
            }
        }
    }

    /// <summary>Sums the values of the samples <paramref name="filter"/> accepts per stack id into <paramref name="perStack"/> (indexed by stack tree node).</summary>
    public static void AccumulateStacks(SeriesIndex index, ProfileTable profiles, ISampleProvider sampleProvider, List<int> seriesIds,
        TimeRange range, SampleFilter filter, bool[]? callSiteMask, HashSet<string>? seen, long[] perStack)
    {
        var everySample = !filter.FiltersSamples;
        foreach (var seriesId in seriesIds)
        {
            var samples = sampleProvider.SamplesOf(seriesId);
            foreach (var row in index.SeriesProfiles[seriesId].Span)
            {
                var id = profiles.ProfileId[row];
                if (!range.Contains(profiles.TimestampMs[row]) || !filter.IncludesProfile(id) || !FirstSighting(seen, id))
                {
                    continue;
                }
                var start = profiles.SampleStart[row];
                var end = start + profiles.SampleCount[row];
                // A profile's rows may span two chunks of the columns: one flat run at a time.
                for (var runStart = start; runStart < end;)
                {
                    var stacks = samples.StackId.Run(runStart, end);
                    var values = samples.Value.Run(runStart, end);
                    for (var i = 0; i < stacks.Length; i++)
                    {
                        if (everySample || filter.Accepts(samples, runStart + i, callSiteMask))
                        {
                            perStack[stacks[i]] = Saturating.Add(perStack[stacks[i]], values[i]);
                        }
                    }
                    runStart += stacks.Length;
                }
            }
        }
    }

    public static void EmitStacks(SymbolTable symbols, long[] perStack, int nodeCount, IStackSink sink) =>
        EmitStacks(SymbolSnapshot.Of(symbols), perStack, nodeCount, sink);

    /// <summary>
    /// Sends every stack with a non-zero sum to the sink, interning each frame name once. Reads only the
    /// snapshot, so a head's lock need not be held (see <see cref="SymbolSnapshot"/>).
    /// </summary>
    public static void EmitStacks(SymbolSnapshot symbols, long[] perStack, int nodeCount, IStackSink sink)
    {
        var nameIds = ArrayPool<int>.Shared.Rent(Math.Max(1, symbols.StringCount));
        nameIds.AsSpan(0, symbols.StringCount).Fill(-1);
        Dictionary<int, int>? addressNames = null;
        var locations = ArrayPool<int>.Shared.Rent(256);
        var frames = ArrayPool<int>.Shared.Rent(256);
        try
        {
            for (var leaf = 0; leaf < nodeCount; leaf++)
            {
                var value = perStack[leaf];
                if (value == 0)
                {
                    continue;
                }
                // Walk leaf → root, collecting locations.
                var depth = 0;
                for (var node = leaf; node >= 0; node = symbols.NodeParent[node])
                {
                    if (depth == locations.Length)
                    {
                        Grow(ref locations);
                    }
                    locations[depth++] = symbols.NodeLocation[node];
                }
                // Emit root → leaf; within a location the last line is the caller of the ones before it.
                var frameCount = 0;
                for (var d = depth - 1; d >= 0; d--)
                {
                    var loc = locations[d];
                    var lineStart = symbols.LocationLineStart[loc];
                    var lineCount = symbols.LocationLineCount[loc];
                    if (lineCount == 0)
                    {
                        if (frameCount == frames.Length)
                        {
                            Grow(ref frames);
                        }
                        addressNames ??= [];
                        if (!addressNames.TryGetValue(loc, out var id))
                        {
                            id = sink.Intern("0x" + symbols.LocationAddress[loc].ToString("x", CultureInfo.InvariantCulture));
                            addressNames.Add(loc, id);
                        }
                        frames[frameCount++] = id;
                        continue;
                    }
                    for (var l = lineStart + lineCount - 1; l >= lineStart; l--)
                    {
                        var nameString = symbols.FunctionName[symbols.LineFunction[l]];
                        var id = nameIds[nameString];
                        if (id < 0)
                        {
                            id = sink.Intern(symbols.Strings[nameString]);
                            nameIds[nameString] = id;
                        }
                        if (frameCount == frames.Length)
                        {
                            Grow(ref frames);
                        }
                        frames[frameCount++] = id;
                    }
                }
                sink.Add(frames.AsSpan(0, frameCount), value);
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(nameIds);
            ArrayPool<int>.Shared.Return(locations);
            ArrayPool<int>.Shared.Return(frames);
        }
    }

    public static void EmitPprof(SymbolTable symbols, long[] perStack, int nodeCount, PprofMerger merger) =>
        EmitPprof(SymbolSnapshot.Of(symbols), perStack, nodeCount, merger);

    /// <summary>
    /// Sends every stack with a non-zero sum to the merger with its full symbols. Each referenced string,
    /// mapping, function and location is translated into the merger's ids once (pooled id maps, 0 = not yet);
    /// a stack then costs one array lookup per frame.
    /// </summary>
    public static void EmitPprof(SymbolSnapshot symbols, long[] perStack, int nodeCount, PprofMerger merger)
    {
        var strings = ArrayPool<long>.Shared.Rent(Math.Max(1, symbols.StringCount));
        var functions = ArrayPool<ulong>.Shared.Rent(Math.Max(1, symbols.FunctionCount));
        var mappings = ArrayPool<ulong>.Shared.Rent(Math.Max(1, symbols.MappingCount));
        var locations = ArrayPool<ulong>.Shared.Rent(Math.Max(1, symbols.LocationCount));
        var stack = ArrayPool<ulong>.Shared.Rent(256);
        try
        {
            // String 0 is "" in both tables; -1 marks an untranslated string.
            strings.AsSpan(0, symbols.StringCount).Fill(-1);
            strings[0] = 0;
            functions.AsSpan(0, symbols.FunctionCount).Clear();
            mappings.AsSpan(0, symbols.MappingCount).Clear();
            locations.AsSpan(0, symbols.LocationCount).Clear();
            for (var leaf = 0; leaf < nodeCount; leaf++)
            {
                var value = perStack[leaf];
                if (value == 0)
                {
                    continue;
                }
                // pprof stacks are leaf first: the parent walk yields them in that order.
                var depth = 0;
                for (var node = leaf; node >= 0; node = symbols.NodeParent[node])
                {
                    if (depth == stack.Length)
                    {
                        var bigger = ArrayPool<ulong>.Shared.Rent(stack.Length * 2);
                        stack.AsSpan().CopyTo(bigger);
                        ArrayPool<ulong>.Shared.Return(stack);
                        stack = bigger;
                    }
                    var loc = symbols.NodeLocation[node];
                    var id = locations[loc];
                    if (id == 0)
                    {
                        id = locations[loc] = TranslateLocation(symbols, loc, merger, strings, functions, mappings);
                    }
                    stack[depth++] = id;
                }
                merger.AddSample(stack.AsSpan(0, depth), value);
            }
        }
        finally
        {
            ArrayPool<long>.Shared.Return(strings);
            ArrayPool<ulong>.Shared.Return(functions);
            ArrayPool<ulong>.Shared.Return(mappings);
            ArrayPool<ulong>.Shared.Return(locations);
            ArrayPool<ulong>.Shared.Return(stack);
        }
    }

    private static ulong TranslateLocation(SymbolSnapshot symbols, int loc, PprofMerger merger, long[] strings, ulong[] functions, ulong[] mappings)
    {
        ulong mapping = 0;
        var m = symbols.LocationMapping[loc];
        if (m >= 0)
        {
            mapping = mappings[m];
            if (mapping == 0)
            {
                mapping = mappings[m] = merger.Mapping(symbols.MappingStart[m], symbols.MappingLimit[m], symbols.MappingOffset[m],
                    TranslateString(symbols, symbols.MappingFilename[m], merger, strings), TranslateString(symbols, symbols.MappingBuildId[m], merger, strings));
            }
        }
        // Functions first: the merger stages a location's lines between BeginLocation and EndLocation.
        var lineStart = symbols.LocationLineStart[loc];
        var lineEnd = lineStart + symbols.LocationLineCount[loc];
        for (var l = lineStart; l < lineEnd; l++)
        {
            var f = symbols.LineFunction[l];
            if (functions[f] == 0)
            {
                functions[f] = merger.Function(
                    TranslateString(symbols, symbols.FunctionName[f], merger, strings),
                    TranslateString(symbols, symbols.FunctionSystemName[f], merger, strings),
                    TranslateString(symbols, symbols.FunctionFilename[f], merger, strings),
                    symbols.FunctionStartLine[f]);
            }
        }
        merger.BeginLocation();
        for (var l = lineStart; l < lineEnd; l++)
        {
            merger.AddLine(functions[symbols.LineFunction[l]], symbols.LineNumber[l]);
        }
        return merger.EndLocation(mapping, symbols.LocationAddress[loc]);
    }

    private static long TranslateString(SymbolSnapshot symbols, int id, PprofMerger merger, long[] strings)
    {
        var translated = strings[id];
        if (translated < 0)
        {
            translated = strings[id] = merger.String(symbols.Strings[id]);
        }
        return translated;
    }

    private static bool FirstSighting(HashSet<string>? seen, string profileId) =>
        seen is null || profileId.Length == 0 || seen.Add(profileId);

    private static void Grow(ref int[] array)
    {
        var bigger = ArrayPool<int>.Shared.Rent(array.Length * 2);
        array.CopyTo(bigger, 0);
        ArrayPool<int>.Shared.Return(array);
        array = bigger;
    }
}
