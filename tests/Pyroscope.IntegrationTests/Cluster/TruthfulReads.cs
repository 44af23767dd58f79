using System.Collections.Immutable;
using System.Net;
using System.Text.Json;

namespace Pyroscope.IntegrationTests.Cluster;

/// <summary>
/// What a read may answer while ingesters fail: the complete data (200, every stack with its exact value), or 503
/// <c>unavailable</c> naming missing ingesters, each one that is really down. Anything else — a 200 with some stacks
/// missing or short, a 500, a 503 blaming a healthy ingester — is a lie or a vague failure.
/// </summary>
public static class TruthfulReads
{
    /// <summary>Null when <paramref name="outcome"/> is truthful, else why not.</summary>
    public static string? Violation(ReadOutcome outcome, Dictionary<string, long> expected, IReadOnlySet<string> down, bool ringMayBeEmpty = false)
    {
        if (outcome.Status == HttpStatusCode.OK)
        {
            return IsExact(outcome, expected) ? null : $"a partial 200: {outcome} instead of {expected.Count} stacks, total {expected.Values.Sum()}";
        }
        if (outcome.Status != HttpStatusCode.ServiceUnavailable)
        {
            return $"neither the data nor 503: {outcome}";
        }
        using var json = JsonDocument.Parse(outcome.Error!);
        if (json.RootElement.GetProperty("code").GetString() != "unavailable")
        {
            return $"a 503 without the code unavailable: {outcome}";
        }
        if (outcome.NamedIngesters.Count == 0)
        {
            // Only a ring that lost every member (its KV store restarted empty) leaves nobody to name.
            return ringMayBeEmpty && outcome.Error!.Contains("the ring has no ingester", StringComparison.Ordinal) ? null : $"a 503 naming no ingester: {outcome}";
        }
        // A healthy ingester may be named as not asked or not waited for (the read was already incomplete), never as the cause.
        var healthy = outcome.BlamedIngesters.Where(id => !down.Contains(id)).ToList();
        return healthy.Count > 0 ? $"a 503 blaming {string.Join(", ", healthy)}, which are not down: {outcome}" : null;
    }

    public static bool IsExact(ReadOutcome outcome, Dictionary<string, long> expected) =>
        outcome.Status == HttpStatusCode.OK && outcome.Stacks!.Count == expected.Count
        && expected.All(e => outcome.Stacks.TryGetValue(e.Key, out var value) && value == e.Value);

    public static void AssertExact(ReadOutcome outcome, Dictionary<string, long> expected, string when) =>
        Assert.True(IsExact(outcome, expected), $"{when}: expected the complete data ({expected.Count} stacks, total {expected.Values.Sum()}), got {outcome}");

    /// <summary>Asserts a 503 <c>unavailable</c> that names each of <paramref name="mustName"/> and only ingesters in <paramref name="down"/>.</summary>
    public static void AssertUnavailableNaming(ReadOutcome outcome, Dictionary<string, long> expected, IReadOnlySet<string> down, IEnumerable<string> mustName, string when)
    {
        Assert.True(outcome.Status == HttpStatusCode.ServiceUnavailable, $"{when}: expected 503 unavailable, got {outcome}");
        Assert.Null(Violation(outcome, expected, down));
        foreach (var id in mustName)
        {
            Assert.True(outcome.NamedIngesters.Contains(id), $"{when}: the 503 does not name {id}: {outcome}");
        }
    }
}

/// <summary>
/// Reads one after another in the background for as long as it runs and checks every answer with
/// <see cref="TruthfulReads.Violation"/> against the ingesters marked down at that moment (mark an ingester down
/// before failing it, and keep it marked until it is fully back).
/// </summary>
public sealed class ContinuousReader : IAsyncDisposable
{
    private readonly ReplicatedCluster _cluster;
    private readonly CancellationTokenSource _stop;
    private readonly Task _loop;
    private readonly Lock _lock = new();
    private readonly List<string> _violations = [];
    private ImmutableHashSet<string> _down = [];

    public ContinuousReader(ReplicatedCluster cluster, CancellationToken ct)
    {
        _cluster = cluster;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);
    }

    public int Exact { get; private set; }

    public int Unavailable { get; private set; }

    public IReadOnlySet<string> Down => _down;

    public void MarkDown(string id) => ImmutableInterlocked.Update(ref _down, set => set.Add(id));

    public void MarkAllUp() => Interlocked.Exchange(ref _down, []);

    /// <summary>Accept a 503 saying the ring has no ingester (set while the ring's KV store restarts empty).</summary>
    public bool RingMayBeEmpty { get; set; }

    /// <summary>Stops reading and fails with every untruthful answer seen; returns how many answers were checked.</summary>
    public async Task<int> StopAndAssertAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        lock (_lock)
        {
            Assert.True(_violations.Count == 0, $"{_violations.Count} untruthful answers while ingesters failed:\n{string.Join("\n", _violations.Take(5))}");
        }
        return Exact + Unavailable;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        try
        {
            await _loop;
        }
        catch (Exception)
        {
            // Already reported by StopAndAssertAsync, or the test failed before.
        }
        _stop.Dispose();
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var down = _down;
            ReadOutcome outcome;
            try
            {
                outcome = await _cluster.ReadAsync(ReplicatedCluster.Service, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e)
            {
                lock (_lock)
                {
                    _violations.Add($"the querier did not answer: {e.Message}");
                }
                continue;
            }
            // Ingesters marked down while the read ran may be named too.
            var violation = TruthfulReads.Violation(outcome, _cluster.Expected, down.Union(_down), RingMayBeEmpty);
            lock (_lock)
            {
                if (violation is not null)
                {
                    _violations.Add(violation);
                }
                else if (outcome.Status == HttpStatusCode.OK)
                {
                    Exact++;
                }
                else
                {
                    Unavailable++;
                }
            }
        }
    }
}
