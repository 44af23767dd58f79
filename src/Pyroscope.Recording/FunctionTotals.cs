using System.Buffers;
using System.Numerics;
using Pprof = Pyroscope.Contracts.Google.V1;

namespace Pyroscope.Recording;

/// <summary>
/// For each target function name, the total of the samples whose stack contains it anywhere (any inlined line of any
/// location), each sample counted once however often the function recurs in it: upstream's recording-rule
/// function total. One pass over functions, locations and samples per 64 target names; no per-sample allocation.
/// </summary>
internal static class FunctionTotals
{
    /// <summary>Totals indexed by slot, in an array rented from <see cref="ArrayPool{T}.Shared"/>: the caller returns it.</summary>
    public static long[] Compute(Pprof.Profile? profile, IReadOnlyDictionary<string, int> slotByFunction)
    {
        var slots = slotByFunction.Count;
        var totals = ArrayPool<long>.Shared.Rent(Math.Max(slots, 1));
        Array.Clear(totals, 0, slots);
        if (profile is null || profile.Sample.Count == 0)
        {
            return totals;
        }
        for (var first = 0; first < slots; first += 64)
        {
            AddChunk(profile, slotByFunction, first, totals);
        }
        return totals;
    }

    private static void AddChunk(Pprof.Profile profile, IReadOnlyDictionary<string, int> slotByFunction, int firstSlot, long[] totals)
    {
        using var functionBits = new IdTable(profile.Function.Count, MaxId(profile.Function));
        var strings = profile.StringTable;
        foreach (var function in profile.Function)
        {
            if (function.Name >= 0 && function.Name < strings.Count
                && slotByFunction.TryGetValue(strings[(int)function.Name], out var slot)
                && slot >= firstSlot && slot < firstSlot + 64)
            {
                functionBits.Or(function.Id, 1UL << (slot - firstSlot));
            }
        }
        if (functionBits.IsEmpty)
        {
            return;
        }
        using var locationBits = new IdTable(profile.Location.Count, MaxId(profile.Location));
        foreach (var location in profile.Location)
        {
            foreach (var line in location.Line)
            {
                locationBits.Or(location.Id, functionBits.Get(line.FunctionId));
            }
        }
        if (locationBits.IsEmpty)
        {
            return;
        }
        foreach (var sample in profile.Sample)
        {
            if (sample.Value.Count == 0)
            {
                continue;
            }
            ulong bits = 0;
            foreach (var locationId in sample.LocationId)
            {
                bits |= locationBits.Get(locationId);
            }
            var value = sample.Value[0];
            while (bits != 0)
            {
                var bit = BitOperations.TrailingZeroCount(bits);
                totals[firstSlot + bit] += value;
                bits &= bits - 1;
            }
        }
    }

    private static ulong MaxId(Google.Protobuf.Collections.RepeatedField<Pprof.Function> functions)
    {
        ulong max = 0;
        foreach (var f in functions)
        {
            max = Math.Max(max, f.Id);
        }
        return max;
    }

    private static ulong MaxId(Google.Protobuf.Collections.RepeatedField<Pprof.Location> locations)
    {
        ulong max = 0;
        foreach (var l in locations)
        {
            max = Math.Max(max, l.Id);
        }
        return max;
    }

    /// <summary>Bits per pprof id: a pooled array when ids are dense (as profilers write them), a dictionary otherwise.</summary>
    private sealed class IdTable : IDisposable
    {
        private readonly ulong[]? _dense;
        private readonly int _length;
        private readonly Dictionary<ulong, ulong>? _sparse;

        public IdTable(int count, ulong maxId)
        {
            if (maxId <= (ulong)count * 4 + 1024)
            {
                _length = (int)maxId + 1;
                _dense = ArrayPool<ulong>.Shared.Rent(_length);
                Array.Clear(_dense, 0, _length);
            }
            else
            {
                _sparse = new Dictionary<ulong, ulong>(count);
            }
        }

        public bool IsEmpty { get; private set; } = true;

        public void Or(ulong id, ulong bits)
        {
            if (bits == 0)
            {
                return;
            }
            IsEmpty = false;
            if (_dense is not null)
            {
                _dense[id] |= bits;
            }
            else
            {
                System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_sparse!, id, out _) |= bits;
            }
        }

        public ulong Get(ulong id)
        {
            if (_dense is not null)
            {
                return id < (ulong)_length ? _dense[id] : 0;
            }
            return _sparse!.GetValueOrDefault(id);
        }

        public void Dispose()
        {
            if (_dense is not null)
            {
                ArrayPool<ulong>.Shared.Return(_dense);
            }
        }
    }
}
