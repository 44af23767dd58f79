namespace Pyroscope.Model.Ingest;

/// <summary>
/// The inputs that make normalising a push reproducible: with the same received bytes and labels, normalisation gives
/// the same series, samples and ids again — in a WAL replay, or in an ingester of another process.
/// </summary>
/// <param name="NowNanos">The distributor's clock when it normalised (profiles without a time get it).</param>
/// <param name="FallbackTimeNanos">The request's start time for profiles without one (/ingest <c>from</c>), 0 for none.</param>
/// <param name="MaxStackDepth">Stacks were cut to this many root-most frames (0: no limit).</param>
/// <param name="MaxSymbolLength">Strings were cut to this many UTF-16 units, keeping the end (0: no limit).</param>
/// <param name="IdSeed">Series ids derive from it and the series' index in the push.</param>
public readonly record struct PushContext(long NowNanos, long FallbackTimeNanos, int MaxStackDepth, int MaxSymbolLength, UInt128 IdSeed);

/// <summary>One profile of a push: its labels and bytes as received, and (in the process that normalised it) the result.</summary>
/// <param name="Labels">Series labels before normalisation (the request's).</param>
/// <param name="Payload">The pprof as received: gzip or raw. Valid until the push completes.</param>
/// <param name="Fixups">Agent repairs to apply after reading <paramref name="Payload"/>.</param>
/// <param name="Normalized">The normalised profile; null where the push arrived over the network (the ingester normalises again).</param>
public sealed record PushedProfile(IReadOnlyList<Label> Labels, ReadOnlyMemory<byte> Payload, PprofFixups Fixups, NormalizedProfile? Normalized);

/// <summary>
/// What a distributor hands the ingesters for one push (the <see cref="IIngesterClient"/> seam): the received profiles
/// with what is needed to normalise them again exactly (<see cref="Context"/>), and their normalised series. An
/// ingester in the same process appends the normalised series and logs the received bytes; one in another process gets
/// the received bytes and normalises them itself. Disposing gives back the normalised profiles' memory.
/// </summary>
public sealed class IngestPush(PushContext context, IReadOnlyList<PushedProfile> profiles) : IDisposable
{
    public PushContext Context { get; } = context;

    public IReadOnlyList<PushedProfile> Profiles { get; } = profiles;

    /// <summary>Every series of the push, in order (their index is what <see cref="PushContext.IdSeed"/> ids derive from).</summary>
    public IEnumerable<(int Profile, NormalizedSeries Series)> Series()
    {
        for (var p = 0; p < Profiles.Count; p++)
        {
            if (Profiles[p].Normalized is { } normalized)
            {
                foreach (var series in normalized.Series)
                {
                    yield return (p, series);
                }
            }
        }
    }

    public int SeriesCount
    {
        get
        {
            var count = 0;
            foreach (var profile in Profiles)
            {
                count += profile.Normalized?.Series.Count ?? 0;
            }
            return count;
        }
    }

    public void Dispose()
    {
        foreach (var profile in Profiles)
        {
            profile.Normalized?.Dispose();
        }
    }
}
