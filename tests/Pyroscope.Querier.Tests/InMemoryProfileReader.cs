using Pyroscope.Model;
using Pyroscope.Model.Query;

namespace Pyroscope.Querier.Tests;

/// <summary>A test <see cref="IProfileReader"/> over profiles held in memory.</summary>
public sealed class InMemoryProfileReader : IProfileReader
{
    public sealed record StoredProfile(string Tenant, LabelSet Series, ProfileTypeId Type, long TimestampMs, string Id, List<(string[] Stack, long Value)> Stacks);

    public List<StoredProfile> Profiles { get; } = [];

    public void Add(string tenant, LabelSet userLabels, ProfileTypeId type, long ts, List<(string[] Stack, long Value)> stacks)
    {
        var labels = LabelSet.From(userLabels.Labels.ToArray().Concat(type.SeriesLabels()));
        Profiles.Add(new StoredProfile(tenant, labels, type, ts, Guid.NewGuid().ToString(), stacks));
    }

    private IEnumerable<StoredProfile> Matching(string tenant, IReadOnlyList<LabelMatcher> matchers, TimeRange range) =>
        Profiles.Where(p => p.Tenant == tenant && range.Contains(p.TimestampMs) && LabelMatcher.MatchesAll(matchers, p.Series));

    public ValueTask<IReadOnlyList<ProfileTypeId>> ProfileTypesAsync(string tenantId, TimeRange range, CancellationToken cancellationToken) =>
        new(Matching(tenantId, [], range).Select(p => p.Type).Distinct().ToList());

    public ValueTask<IReadOnlyList<string>> LabelNamesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) =>
        new(Matching(tenantId, matchers, range).SelectMany(p => p.Series.Labels.ToArray().Select(l => l.Name)).Distinct().Order(StringComparer.Ordinal).ToList());

    public ValueTask<IReadOnlyList<string>> LabelValuesAsync(string tenantId, string labelName, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) =>
        new(Matching(tenantId, matchers, range).Select(p => p.Series.Get(labelName)).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList());

    public ValueTask<IReadOnlyList<LabelSet>> SeriesAsync(string tenantId, IReadOnlyList<LabelMatcher> matchers, TimeRange range, CancellationToken cancellationToken) =>
        new(Matching(tenantId, matchers, range).Select(p => p.Series).Distinct().ToList());

    public ValueTask MergeStacksAsync(string tenantId, SelectQuery query, IStackSink sink, CancellationToken cancellationToken)
    {
        foreach (var p in Matching(tenantId, query.Matchers, query.Range))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var ids = new Dictionary<string, int>();
            foreach (var (stack, value) in p.Stacks)
            {
                var frames = new int[stack.Length];
                for (var i = 0; i < stack.Length; i++)
                {
                    if (!ids.TryGetValue(stack[i], out frames[i]))
                    {
                        frames[i] = sink.Intern(stack[i]);
                        ids[stack[i]] = frames[i];
                    }
                }
                sink.Add(frames, value);
            }
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Names only: each frame becomes a function and a location of its own.</summary>
    public ValueTask MergeProfileAsync(string tenantId, SelectQuery query, PprofMerger merger, CancellationToken cancellationToken)
    {
        foreach (var p in Matching(tenantId, query.Matchers, query.Range))
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var (stack, value) in p.Stacks)
            {
                var leafFirst = new ulong[stack.Length];
                for (var i = 0; i < stack.Length; i++)
                {
                    var name = merger.String(stack[i]);
                    merger.BeginLocation();
                    merger.AddLine(merger.Function(name, name, 0, 0), 0);
                    leafFirst[stack.Length - 1 - i] = merger.EndLocation(0, 0);
                }
                merger.AddSample(leafFirst, value);
            }
        }
        return ValueTask.CompletedTask;
    }

    public ValueTask<IReadOnlyList<ProfileTotal>> ProfileTotalsAsync(string tenantId, SelectQuery query, CancellationToken cancellationToken) =>
        new(Matching(tenantId, query.Matchers, query.Range)
            .OrderBy(p => p.TimestampMs)
            .Select(p => new ProfileTotal(p.Series, p.TimestampMs, p.Stacks.Sum(s => s.Value), p.Id))
            .ToList());

    public ValueTask<ProfileStats> StatsAsync(string tenantId, CancellationToken cancellationToken)
    {
        var mine = Profiles.Where(p => p.Tenant == tenantId).ToList();
        return new(mine.Count == 0
            ? new ProfileStats(false, 0, 0)
            : new ProfileStats(true, mine.Min(p => p.TimestampMs), mine.Max(p => p.TimestampMs)));
    }
}
