using System.Collections.Concurrent;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Symbols;

namespace Pyroscope.Storage.Blocks;

/// <summary>
/// One block in a store, with lazily fetched and cached parts: the index on first use, symbols
/// and per-series sample chunks only when a query matches series in it. Cached parts can be
/// dropped (<see cref="DropCaches"/>) under memory pressure; the meta is kept. Outside storage a handle is only
/// created and passed on (<see cref="Reading.ProfileSource.Of(BlockHandle)"/>); reading it is storage's business.
/// </summary>
public sealed class BlockHandle
{
    private readonly IObjectStore _store;
    private readonly string _folder;
    private readonly SemaphoreSlim _loadLock = new(1, 1);
    private volatile BlockIndex? _index;
    private volatile SymbolTable? _symbols;
    private ConcurrentDictionary<int, SampleColumns> _samples = new();
    private long _cachedBytes;

    public BlockHandle(IObjectStore store, string tenant, BlockMeta meta)
    {
        _store = store;
        Meta = meta;
        _folder = tenant + "/" + meta.Ulid + "/";
    }

    public BlockMeta Meta { get; }

    internal long LastUsedTicks { get; private set; }

    internal long CachedBytes => Interlocked.Read(ref _cachedBytes);

    internal async ValueTask<BlockIndex> GetIndexAsync(CancellationToken cancellationToken)
    {
        LastUsedTicks = Environment.TickCount64;
        if (_index is { } index)
        {
            return index;
        }
        await _loadLock.WaitAsync(cancellationToken);
        try
        {
            if (_index is null)
            {
                var bytes = await _store.GetAsync(_folder + BlockFileNames.Index, cancellationToken)
                    ?? throw new FileNotFoundException($"Block {_folder} has no {BlockFileNames.Index}.");
                _index = BlockDecoder.DecodeIndex(bytes);
                Interlocked.Add(ref _cachedBytes, _index.EstimatedBytes);
            }
            return _index;
        }
        finally
        {
            _loadLock.Release();
        }
    }

    internal async ValueTask<SymbolTable> GetSymbolsAsync(CancellationToken cancellationToken)
    {
        if (_symbols is { } symbols)
        {
            return symbols;
        }
        await _loadLock.WaitAsync(cancellationToken);
        try
        {
            if (_symbols is null)
            {
                var bytes = await _store.GetAsync(_folder + BlockFileNames.Symbols, cancellationToken)
                    ?? throw new FileNotFoundException($"Block {_folder} has no {BlockFileNames.Symbols}.");
                _symbols = BlockDecoder.DecodeSymbols(bytes);
                Interlocked.Add(ref _cachedBytes, _symbols.EstimatedBytes());
            }
            return _symbols;
        }
        finally
        {
            _loadLock.Release();
        }
    }

    /// <summary>Fetches the sample chunks of the given series with one ranged read spanning the missing ones.</summary>
    internal async ValueTask<ISampleProvider> GetSamplesAsync(BlockIndex index, List<int> seriesIds, CancellationToken cancellationToken)
    {
        var cache = _samples;
        long from = long.MaxValue, to = 0;
        foreach (var s in seriesIds)
        {
            if (!cache.ContainsKey(s))
            {
                from = Math.Min(from, index.ChunkOffset[s]);
                to = Math.Max(to, index.ChunkOffset[s] + index.ChunkLength[s]);
            }
        }
        if (from < to)
        {
            var bytes = await _store.GetRangeAsync(_folder + BlockFileNames.Samples, from, checked((int)(to - from)), cancellationToken);
            foreach (var s in seriesIds)
            {
                if (!cache.ContainsKey(s))
                {
                    var chunk = bytes.AsSpan((int)(index.ChunkOffset[s] - from), index.ChunkLength[s]);
                    var columns = BlockDecoder.DecodeSeriesChunk(chunk, index, s);
                    if (cache.TryAdd(s, columns))
                    {
                        Interlocked.Add(ref _cachedBytes, columns.EstimatedBytes());
                    }
                }
            }
        }
        return new CachedSamples(cache);
    }

    /// <summary>Forgets symbols and samples (the index stays: it is small and needed for every query).</summary>
    internal void DropCaches()
    {
        _symbols = null;
        _samples = new ConcurrentDictionary<int, SampleColumns>();
        Interlocked.Exchange(ref _cachedBytes, _index?.EstimatedBytes ?? 0);
    }

    private sealed class CachedSamples(ConcurrentDictionary<int, SampleColumns> cache) : ISampleProvider
    {
        public SampleColumns SamplesOf(int seriesId) => cache[seriesId];
    }
}
