using Pyroscope.Contracts.Google.V1;
using Pyroscope.Model;

namespace Pyroscope.Formats.Jfr;

/// <summary>
/// One series' worth of a converted recording: a pprof with exactly one sample type, its profile type, and the
/// labels of the async-profiler context its samples were taken in (empty when none). The write path adds the
/// request's labels, <c>__name__</c> (= <see cref="ProfileTypeId.Name"/>), <c>service_name</c>,
/// <c>pyroscope_spy</c>, <c>__delta__="false"</c> and <c>jfr_event</c> (= <see cref="JfrConversion.JfrEvent"/>).
/// </summary>
public sealed record JfrProfile(ProfileTypeId Type, LabelSet ExtraLabels, Profile Pprof);

public sealed record JfrConvertOptions
{
    /// <summary>Request <c>from</c>, becomes the pprof <c>time_nanos</c>.</summary>
    public long StartTimeUnixNanos { get; init; }

    /// <summary>Request <c>until</c>; <c>duration_nanos</c> = until − from.</summary>
    public long EndTimeUnixNanos { get; init; }

    /// <summary>
    /// Request <c>sampleRate</c> (Hz). CPU and wall samples weigh 1e9/SampleRate nanoseconds each, as upstream;
    /// 0 makes them weigh 0 (upstream does the same).
    /// </summary>
    public long SampleRate { get; init; } = 100;
}

/// <summary>The profiles made from one recording, plus the recording's <c>event</c> setting (async-profiler's mode).</summary>
public sealed class JfrConversion(IReadOnlyList<JfrProfile> profiles, string jfrEvent) : IReadOnlyList<JfrProfile>
{
    /// <summary>The value of the last <c>jdk.ActiveSetting</c> named <c>event</c> (e.g. <c>itimer</c>, <c>cpu</c>, <c>wall</c>), or empty.</summary>
    public string JfrEvent { get; } = jfrEvent;

    public int Count => profiles.Count;

    public JfrProfile this[int index] => profiles[index];

    public IEnumerator<JfrProfile> GetEnumerator() => profiles.GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
