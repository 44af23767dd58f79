namespace Pyroscope.Ring.Kv;

/// <summary>The monolith's KV: one process, so a lock and a change signal per key are enough.</summary>
public sealed class InMemoryRingKvStore : IRingKvStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);

    public Task<KvEntry> GetAsync(string key, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var slot = GetSlot(key);
            return Task.FromResult(new KvEntry(slot.Version, slot.Value));
        }
    }

    public Task<long?> TryCompareAndSwapAsync(string key, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        TaskCompletionSource changed;
        long version;
        lock (_lock)
        {
            var slot = GetSlot(key);
            if (slot.Version != expectedVersion)
            {
                return Task.FromResult<long?>(null);
            }
            // Copy: the caller may reuse its buffer, and readers must never see a value change under them.
            slot.Value = value.ToArray();
            slot.Version = version = expectedVersion + 1;
            changed = slot.Changed;
            slot.Changed = NewSignal();
        }
        changed.TrySetResult();
        return Task.FromResult<long?>(version);
    }

    public async Task WaitForChangeAsync(string key, long knownVersion, CancellationToken cancellationToken)
    {
        Task changed;
        lock (_lock)
        {
            var slot = GetSlot(key);
            if (slot.Version != knownVersion)
            {
                return;
            }
            changed = slot.Changed.Task;
        }
        await changed.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private Slot GetSlot(string key)
    {
        if (!_slots.TryGetValue(key, out var slot))
        {
            slot = new Slot { Changed = NewSignal() };
            _slots[key] = slot;
        }
        return slot;
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Slot
    {
        public long Version;
        public byte[] Value = [];
        public required TaskCompletionSource Changed;
    }
}
