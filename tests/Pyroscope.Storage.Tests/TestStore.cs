using Pyroscope.Contracts.Ingester.V1;
using Pyroscope.Model;
using Pyroscope.Storage.Blocks;
using Pyroscope.Storage.Head;
using Pyroscope.Storage.ObjectStore;
using Pyroscope.Storage.Reading;

namespace Pyroscope.Storage.Tests;

/// <summary>
/// Heads and blocks built with the storage library's public API alone and read as one source set: what an ingester
/// does with them, without its WAL, limits or lifecycle. Each tenant has one head; <see cref="FlushAsync"/> turns the
/// heads into blocks in <see cref="Store"/> (a temporary directory unless given).
/// </summary>
public sealed class TestStore : SourceSetReader, IDisposable
{
    private readonly TempDir? _dir;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, TenantHead> _heads = new(StringComparer.Ordinal);
    private readonly List<BlockHandle> _blocks = [];

    public TestStore(IObjectStore? store = null, TimeProvider? time = null)
    {
        if (store is null)
        {
            _dir = new TempDir();
            store = new FileSystemObjectStore(_dir.Path);
        }
        Store = store;
        _time = time ?? TestData.Clock();
    }

    public IObjectStore Store { get; }

    public IReadOnlyList<string> BlockIds => _blocks.ConvertAll(static b => b.Meta.Ulid);

    /// <summary>Appends a push to its tenant's head; bad labels or a bad tenant refuse it before anything is appended.</summary>
    public Task PushAsync(string tenantId, PushRequest request, CancellationToken cancellationToken)
    {
        BlockStoreReader.ValidateTenant(tenantId);
        var labels = new LabelSet[request.Series.Count];
        for (var i = 0; i < labels.Length; i++)
        {
            labels[i] = TenantHead.ToLabelSet(request.Series[i]);
        }
        var head = HeadOf(tenantId);
        var nowMs = _time.GetUtcNow().ToUnixTimeMilliseconds();
        for (var i = 0; i < labels.Length; i++)
        {
            head.Append(request.Series[i], labels[i], nowMs);
        }
        return Task.CompletedTask;
    }

    /// <summary>The tenant's head, created when absent: for tests that append normalised series directly.</summary>
    internal TenantHead HeadOf(string tenantId)
    {
        if (!_heads.TryGetValue(tenantId, out var head))
        {
            _heads[tenantId] = head = new TenantHead(tenantId, Ulid.NewUlid(_time.GetUtcNow()));
        }
        return head;
    }

    /// <summary>Writes every head as a block to the store and starts new heads.</summary>
    public async Task FlushAsync()
    {
        foreach (var head in _heads.Values)
        {
            if (head.ProfileCount == 0)
            {
                continue;
            }
            var block = head.EncodeBlock();
            await block.WriteToAsync(Store, CancellationToken.None);
            _blocks.Add(new BlockHandle(Store, head.TenantId, block.Meta));
        }
        _heads.Clear();
    }

    protected override ValueTask<IReadOnlyList<ProfileSource>> GetSourcesAsync(string tenantId, CancellationToken cancellationToken)
    {
        BlockStoreReader.ValidateTenant(tenantId);
        var sources = new List<ProfileSource>();
        foreach (var block in _blocks)
        {
            if (block.Meta.Tenant == tenantId)
            {
                sources.Add(ProfileSource.Of(block));
            }
        }
        if (_heads.TryGetValue(tenantId, out var head))
        {
            sources.Add(ProfileSource.Of(head));
        }
        return ValueTask.FromResult<IReadOnlyList<ProfileSource>>(sources);
    }

    public void Dispose() => _dir?.Dispose();
}
