using Pyroscope.Model;
using Pyroscope.Model.Query;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.Query;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Reading;

/// <summary>
/// One unit of stored data a query visits: a head (current or being flushed) or a block. A
/// <see cref="SourceSetReader"/> picks the sources of a read; only storage implements them (<see cref="Of(TenantHead)"/>,
/// <see cref="Of(BlockHandle)"/>).
/// </summary>
public abstract class ProfileSource
{
    private protected ProfileSource()
    {
    }

    /// <summary>The block id this data has, or will have once flushed.</summary>
    public abstract Ulid Id { get; }

    public abstract long MinTimeMs { get; }

    public abstract long MaxTimeMs { get; }

    /// <summary>A head, read under its lock as it grows.</summary>
    public static ProfileSource Of(TenantHead head) => new HeadSource(head);

    /// <summary>A block in a store, its parts fetched and cached on first use.</summary>
    public static ProfileSource Of(BlockHandle block) => new BlockSource(block);

    /// <summary>Runs <paramref name="read"/> over the source's index (series and profiles).</summary>
    internal abstract ValueTask<T> ReadIndexAsync<T>(Func<SeriesIndex, ProfileTable, T> read, CancellationToken cancellationToken);

    /// <summary>Adds the stacks of matching samples to the sink.</summary>
    internal ValueTask MergeStacksAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, IStackSink sink, CancellationToken cancellationToken) =>
        SumPerStackAsync(query, filter, seen, (symbols, perStack, nodes) => SourceQueries.EmitStacks(symbols, perStack, nodes, sink), cancellationToken);

    /// <summary>Adds the matching samples to the merger with their full symbols.</summary>
    internal ValueTask MergeProfileAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, PprofMerger merger, CancellationToken cancellationToken) =>
        SumPerStackAsync(query, filter, seen, (symbols, perStack, nodes) => SourceQueries.EmitPprof(symbols, perStack, nodes, merger), cancellationToken);

    /// <summary>
    /// Sums the matching samples per stack (indexed by stack tree node, pooled) and hands the sums to
    /// <paramref name="emit"/> together with the symbols they refer to (for heads, after the lock is released).
    /// </summary>
    private protected abstract ValueTask SumPerStackAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, StackSumsHandler emit, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the totals of the matching profiles: from the index when no sample is filtered, else from the samples
    /// that pass (span, trace, call site), per profile or per span (<see cref="SampleFilter.TotalsPerSpan"/>).
    /// </summary>
    internal async ValueTask CollectTotalsAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, List<ProfileTotal> into, CancellationToken cancellationToken)
    {
        if (filter.FiltersSamples || filter.TotalsPerSpan)
        {
            await CollectSampleTotalsAsync(query, filter, seen, into, cancellationToken);
            return;
        }
        await ReadIndexAsync((index, profiles) =>
        {
            SourceQueries.CollectTotals(index, profiles, index.Match(query.Matchers, query.Range), query.Range, filter, seen, into);
            return 0;
        }, cancellationToken);
    }

    private protected abstract ValueTask CollectSampleTotalsAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, List<ProfileTotal> into, CancellationToken cancellationToken);

    private protected delegate void StackSumsHandler(SymbolSnapshot symbols, long[] perStack, int nodeCount);

    public bool Overlaps(TimeRange range) => MinTimeMs <= MaxTimeMs && range.Overlaps(MinTimeMs, MaxTimeMs);
}

/// <summary>
/// A tenant head. Queries hold the head's read lock only while matching series and summing values per
/// stack (O(samples in range)); walking the stacks and naming frames runs afterwards on a
/// <see cref="SymbolSnapshot"/> taken under the same lock, so appends wait for the sums, not the emission.
/// </summary>
/// <param name="emitUnderLock">Keeps the lock for the whole query, as before; only the benchmark uses it, as its baseline.</param>
internal sealed class HeadSource(TenantHead head, bool emitUnderLock = false) : ProfileSource
{
    public override Ulid Id => head.BlockId;

    public override long MinTimeMs => head.Read(static t => t.MinTimeMs);

    public override long MaxTimeMs => head.Read(static t => t.MaxTimeMs);

    /// <summary>Index reads stay under the lock: postings and series time spans are updated in place by appends.</summary>
    internal override ValueTask<T> ReadIndexAsync<T>(Func<SeriesIndex, ProfileTable, T> read, CancellationToken cancellationToken) =>
        ValueTask.FromResult(head.Read(t => read(t.Index, t.Profiles)));

    private protected override ValueTask CollectSampleTotalsAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, List<ProfileTotal> into, CancellationToken cancellationToken)
    {
        head.Read(t =>
        {
            var series = t.Index.Match(query.Matchers, query.Range);
            if (series.Count == 0)
            {
                return 0;
            }
            var mask = filter.CallSiteMask(SymbolSnapshot.Of(t.Symbols));
            try
            {
                SourceQueries.CollectSampleTotals(t.Index, t.Profiles, t, series, query.Range, filter, mask, seen, into);
            }
            finally
            {
                SampleFilter.ReturnMask(mask);
            }
            return 0;
        });
        return ValueTask.CompletedTask;
    }

    private protected override ValueTask SumPerStackAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, StackSumsHandler emit, CancellationToken cancellationToken)
    {
        long[]? perStack = null;
        try
        {
            // The sums and the snapshot come from the same locked moment, so every summed stack id is
            // below the snapshot's node count, and profile ids are marked seen exactly for what was summed.
            var symbols = head.Read<SymbolSnapshot?>(t =>
            {
                var series = t.Index.Match(query.Matchers, query.Range);
                if (series.Count == 0)
                {
                    return null;
                }
                var snapshot = SymbolSnapshot.Of(t.Symbols);
                perStack = System.Buffers.ArrayPool<long>.Shared.Rent(Math.Max(1, snapshot.NodeCount));
                Array.Clear(perStack, 0, snapshot.NodeCount);
                var mask = filter.CallSiteMask(snapshot);
                try
                {
                    SourceQueries.AccumulateStacks(t.Index, t.Profiles, t, series, query.Range, filter, mask, seen, perStack);
                }
                finally
                {
                    SampleFilter.ReturnMask(mask);
                }
                if (emitUnderLock)
                {
                    emit(snapshot, perStack, snapshot.NodeCount);
                    return null;
                }
                return snapshot;
            });
            if (symbols is not null)
            {
                emit(symbols, perStack!, symbols.NodeCount);
            }
        }
        finally
        {
            if (perStack is not null)
            {
                System.Buffers.ArrayPool<long>.Shared.Return(perStack);
            }
        }
        return ValueTask.CompletedTask;
    }
}

internal sealed class BlockSource(BlockHandle block) : ProfileSource
{
    public BlockHandle Block => block;

    public override Ulid Id => block.Meta.Id;

    public override long MinTimeMs => block.Meta.MinTimeMs;

    public override long MaxTimeMs => block.Meta.MaxTimeMs;

    internal override async ValueTask<T> ReadIndexAsync<T>(Func<SeriesIndex, ProfileTable, T> read, CancellationToken cancellationToken)
    {
        var index = await block.GetIndexAsync(cancellationToken);
        return read(index.Series, index.Profiles);
    }

    private protected override async ValueTask CollectSampleTotalsAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, List<ProfileTotal> into, CancellationToken cancellationToken)
    {
        var index = await block.GetIndexAsync(cancellationToken);
        var series = index.Series.Match(query.Matchers, query.Range);
        if (series.Count == 0)
        {
            return;
        }
        var samples = await block.GetSamplesAsync(index, series, cancellationToken);
        var mask = filter.CallSite is null ? null : filter.CallSiteMask(SymbolSnapshot.Of(await block.GetSymbolsAsync(cancellationToken)));
        try
        {
            SourceQueries.CollectSampleTotals(index.Series, index.Profiles, samples, series, query.Range, filter, mask, seen, into);
        }
        finally
        {
            SampleFilter.ReturnMask(mask);
        }
    }

    private protected override async ValueTask SumPerStackAsync(SelectQuery query, SampleFilter filter, HashSet<string>? seen, StackSumsHandler emit, CancellationToken cancellationToken)
    {
        var index = await block.GetIndexAsync(cancellationToken);
        var series = index.Series.Match(query.Matchers, query.Range);
        if (series.Count == 0)
        {
            return;
        }
        var symbols = await block.GetSymbolsAsync(cancellationToken);
        var samples = await block.GetSamplesAsync(index, series, cancellationToken);
        var nodes = symbols.NodeCount;
        var perStack = System.Buffers.ArrayPool<long>.Shared.Rent(Math.Max(1, nodes));
        try
        {
            Array.Clear(perStack, 0, nodes);
            var snapshot = SymbolSnapshot.Of(symbols);
            var mask = filter.CallSiteMask(snapshot);
            try
            {
                SourceQueries.AccumulateStacks(index.Series, index.Profiles, samples, series, query.Range, filter, mask, seen, perStack);
            }
            finally
            {
                SampleFilter.ReturnMask(mask);
            }
            emit(snapshot, perStack, nodes);
        }
        finally
        {
            System.Buffers.ArrayPool<long>.Shared.Return(perStack);
        }
    }
}
