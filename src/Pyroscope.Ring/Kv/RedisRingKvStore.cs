using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Pyroscope.Ring.Kv;

/// <summary>
/// Ring KV in Redis for microservices mode. Each key is a hash {v: version, d: value}; the CAS is one Lua
/// script (atomic on the server), which also publishes the new version so watchers wake up at once.
/// Watchers poll as well, so a dropped pub/sub message or a reconnect only delays them.
/// </summary>
public sealed class RedisRingKvStore : IRingKvStore, IAsyncDisposable, IDisposable
{
    // KEYS[1] = hash, KEYS[2] = change channel (passed as a key so cluster routing sees it); ARGV[1] = expected version, ARGV[2] = value.
    private const string CasScript = """
        local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
        if current ~= tonumber(ARGV[1]) then
          return -1
        end
        local next = current + 1
        redis.call('HSET', KEYS[1], 'v', next, 'd', ARGV[2])
        redis.call('PUBLISH', KEYS[2], next)
        return next
        """;

    private static readonly RedisValue[] HashFields = ["v", "d"];

    private readonly ConfigurationOptions _configuration;
    private readonly string _keyPrefix;
    private readonly TimeSpan _pollInterval;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly ConcurrentDictionary<string, ChangeSignal> _signals = new(StringComparer.Ordinal);
    private ConnectionMultiplexer? _connection;

    public RedisRingKvStore(string address, TimeSpan pollInterval, ILogger<RedisRingKvStore> logger, string keyPrefix = "pyroscope:")
    {
        _configuration = ParseAddress(address);
        _keyPrefix = keyPrefix;
        _pollInterval = pollInterval;
        _logger = logger;
    }

    /// <summary>Accepts StackExchange.Redis configuration strings ("host:port,password=…") and redis:// URLs.</summary>
    internal static ConfigurationOptions ParseAddress(string address)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            throw new ArgumentException("The Redis address for the ring is empty: set ring:redis:address or ConnectionStrings:redis.", nameof(address));
        }
        var trimmed = address.Trim();
        ConfigurationOptions options;
        if (trimmed.StartsWith("redis://", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(trimmed, UriKind.Absolute, out var uri))
        {
            options = ConfigurationOptions.Parse($"{uri.Host}:{(uri.Port > 0 ? uri.Port : 6379)}");
            if (uri.UserInfo.Length > 0)
            {
                var parts = uri.UserInfo.Split(':', 2);
                options.User = parts.Length == 2 && parts[0].Length > 0 ? Uri.UnescapeDataString(parts[0]) : null;
                options.Password = Uri.UnescapeDataString(parts[^1]);
            }
        }
        else
        {
            options = ConfigurationOptions.Parse(trimmed);
        }
        // Start even while Redis is down: lifecyclers and clients retry, they must not crash the host, and a
        // short connect timeout keeps a host that starts during an outage from stalling its startup.
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = Math.Min(options.ConnectTimeout, 2000);
        // Reconnect quickly after an outage, and fail commands at once while disconnected (our callers retry on
        // their own schedule) instead of queueing them behind a dead connection.
        options.ReconnectRetryPolicy = new LinearRetry(500);
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return options;
    }

    public async Task<KvEntry> GetAsync(string key, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
        var values = await database.HashGetAsync(DataKey(key), HashFields).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (values[0].IsNull)
        {
            return default;
        }
        return new KvEntry((long)values[0], values[1].IsNull ? ReadOnlyMemory<byte>.Empty : (byte[])values[1]!);
    }

    public async Task<long?> TryCompareAndSwapAsync(string key, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        var database = await DatabaseAsync(cancellationToken).ConfigureAwait(false);
        var result = await database.ScriptEvaluateAsync(
                CasScript,
                [DataKey(key), ChannelName(key)],
                [expectedVersion, value])
            .WaitAsync(cancellationToken).ConfigureAwait(false);
        var version = (long)result;
        return version < 0 ? null : version;
    }

    public async Task WaitForChangeAsync(string key, long knownVersion, CancellationToken cancellationToken)
    {
        var signal = await SubscribeAsync(key, cancellationToken).ConfigureAwait(false);
        while (true)
        {
            // Take the signal before reading so a change between the read and the wait is not missed.
            var changed = signal.Current;
            try
            {
                var entry = await GetAsync(key, cancellationToken).ConfigureAwait(false);
                if (entry.Version != knownVersion)
                {
                    return;
                }
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                _logger.LogWarning(e, "Ring KV: reading {Key} from Redis failed; retrying in {Interval}", key, _pollInterval);
            }
            await Task.WhenAny(changed, Task.Delay(_pollInterval, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            await connection.CloseAsync().ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        _connectLock.Dispose();
    }

    public void Dispose()
    {
        _connection?.Dispose();
        _connectLock.Dispose();
    }

    // Hash tags ({…}) put the hash and its channel name in one cluster slot, so the script is valid on Redis Cluster too.
    private RedisKey DataKey(string key) => _keyPrefix + "{" + key + "}";

    private string ChannelName(string key) => _keyPrefix + "changed:{" + key + "}";

    private async Task<ChangeSignal> SubscribeAsync(string key, CancellationToken cancellationToken)
    {
        if (_signals.TryGetValue(key, out var existing))
        {
            return existing;
        }
        var signal = new ChangeSignal();
        if (!_signals.TryAdd(key, signal))
        {
            return _signals[key];
        }
        try
        {
            var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
            await connection.GetSubscriber()
                .SubscribeAsync(RedisChannel.Literal(ChannelName(key)), (_, _) => signal.Fire())
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Polling still works; StackExchange.Redis re-subscribes on reconnect only for live subscriptions.
            _signals.TryRemove(key, out _);
            _logger.LogWarning(e, "Ring KV: subscribing to changes of {Key} failed; falling back to polling", key);
        }
        return signal;
    }

    private async Task<IDatabase> DatabaseAsync(CancellationToken cancellationToken) =>
        (await ConnectAsync(cancellationToken).ConfigureAwait(false)).GetDatabase();

    private async Task<ConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { } connection)
        {
            return connection;
        }
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _connection ??= await ConnectionMultiplexer.ConnectAsync(_configuration).ConfigureAwait(false);
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private sealed class ChangeSignal
    {
        private TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Current => Volatile.Read(ref _current).Task;

        public void Fire() =>
            Interlocked.Exchange(ref _current, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
