using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Ring;
using Pyroscope.Ring.Kv;

namespace Pyroscope.Ring.Tests;

/// <summary>CAS semantics every KV store must have; run against each implementation.</summary>
public abstract class KvStoreContract : IAsyncDisposable
{
    private readonly List<IRingKvStore> _stores = [];

    /// <summary>A client of the shared store; for Redis each one is its own connection, like another process.</summary>
    protected abstract IRingKvStore NewClient();

    protected IRingKvStore Client()
    {
        var store = NewClient();
        _stores.Add(store);
        return store;
    }

    protected static string UniqueKey() => "test/" + Guid.NewGuid().ToString("N");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Concurrent_compare_and_swap_never_loses_an_update()
    {
        var key = UniqueKey();
        const int writers = 8;
        const int incrementsEach = 25;
        var clients = Enumerable.Range(0, writers).Select(_ => Client()).ToArray();
        await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            for (var i = 0; i < incrementsEach; i++)
            {
                while (true)
                {
                    var entry = await client.GetAsync(key, Ct);
                    var value = entry.Exists ? int.Parse(Encoding.ASCII.GetString(entry.Value.Span), CultureInfo.InvariantCulture) : 0;
                    var next = Encoding.ASCII.GetBytes((value + 1).ToString(CultureInfo.InvariantCulture));
                    if (await client.TryCompareAndSwapAsync(key, entry.Version, next, Ct) is not null)
                    {
                        break;
                    }
                }
            }
        }, Ct)));

        var final = await Client().GetAsync(key, Ct);
        Assert.Equal(writers * incrementsEach, int.Parse(Encoding.ASCII.GetString(final.Value.Span), CultureInfo.InvariantCulture));
        Assert.Equal(writers * incrementsEach, final.Version); // one version per successful write
    }

    [Fact]
    public async Task Stale_versions_are_rejected()
    {
        var key = UniqueKey();
        var store = Client();
        Assert.Equal(1, await store.TryCompareAndSwapAsync(key, 0, "a"u8.ToArray(), Ct));
        Assert.Null(await store.TryCompareAndSwapAsync(key, 0, "b"u8.ToArray(), Ct));
        Assert.Null(await store.TryCompareAndSwapAsync(key, 5, "b"u8.ToArray(), Ct));
        Assert.Equal(2, await store.TryCompareAndSwapAsync(key, 1, "c"u8.ToArray(), Ct));
        var entry = await Client().GetAsync(key, Ct);
        Assert.Equal(2, entry.Version);
        Assert.Equal("c"u8.ToArray(), entry.Value.ToArray());
        Assert.False((await store.GetAsync(UniqueKey(), Ct)).Exists);
    }

    [Fact]
    public async Task Concurrent_ring_updates_from_many_lifecyclers_all_land()
    {
        var key = UniqueKey();
        const int members = 12;
        await Task.WhenAll(Enumerable.Range(0, members).Select(i =>
        {
            var client = Client();
            return Task.Run(() => client.CasRingAsync(key, ring =>
            {
                ring.Instances[$"member-{i}"] = TestRings.Instance($"member-{i}", [(uint)i], 1);
                return true;
            }, Ct), Ct);
        }));
        var (_, descriptor) = await Client().GetRingAsync(key, Ct);
        Assert.Equal(Enumerable.Range(0, members).Select(i => $"member-{i}").Order(), descriptor.Instances.Keys.Order());
    }

    [Fact]
    public async Task Watchers_wake_up_on_a_change_from_another_client()
    {
        var key = UniqueKey();
        var writer = Client();
        var watcher = Client();
        await writer.TryCompareAndSwapAsync(key, 0, "1"u8.ToArray(), Ct);

        // A watcher behind the current version returns at once.
        await watcher.WaitForChangeAsync(key, 0, Ct).WaitAsync(TimeSpan.FromSeconds(5), Ct);

        var wait = watcher.WaitForChangeAsync(key, 1, Ct);
        await Task.Yield();
        Assert.False(wait.IsCompleted);
        await writer.TryCompareAndSwapAsync(key, 1, "2"u8.ToArray(), Ct);
        await wait.WaitAsync(TimeSpan.FromSeconds(5), Ct);
    }

    [Fact]
    public async Task Waiting_can_be_cancelled()
    {
        var key = UniqueKey();
        using var cts = new CancellationTokenSource();
        var wait = Client().WaitForChangeAsync(key, 0, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(5), Ct));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            if (store is IAsyncDisposable disposable)
            {
                await disposable.DisposeAsync();
            }
        }
        GC.SuppressFinalize(this);
    }
}

public sealed class InMemoryKvStoreTests : KvStoreContract
{
    private readonly InMemoryRingKvStore _store = new();

    protected override IRingKvStore NewClient() => _store;
}

public sealed class RedisKvStoreTests(RedisServerFixture redis) : KvStoreContract, IClassFixture<RedisServerFixture>
{
    protected override IRingKvStore NewClient() =>
        new RedisRingKvStore(redis.Address, TimeSpan.FromMilliseconds(200), NullLogger<RedisRingKvStore>.Instance);

    [Theory]
    [InlineData("redis://127.0.0.1:6390", "127.0.0.1:6390", null)]
    [InlineData("redis://:secret@cache:6379", "cache:6379", "secret")]
    [InlineData("localhost:6391,password=pw", "localhost:6391", "pw")]
    public void Addresses_parse_as_urls_or_configuration_strings(string address, string endpoint, string? password)
    {
        var options = RedisRingKvStore.ParseAddress(address);
        Assert.Equal(endpoint, EndpointText(options.EndPoints[0]));
        Assert.Equal(password, options.Password);
        Assert.False(options.AbortOnConnectFail);
    }

    private static string EndpointText(System.Net.EndPoint endpoint) => endpoint switch
    {
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        System.Net.IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        _ => endpoint.ToString() ?? "",
    };
}
