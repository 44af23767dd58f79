using Pyroscope.Formats.Ingest;
using Pyroscope.Formats.Normalization;
using Pyroscope.Model;
using Pyroscope.Testing.Fuzzing;

namespace Pyroscope.Formats.Tests.Fuzz;

/// <summary>
/// One fuzz test per ingest format, in process for volume: real fixtures mutated (<see cref="IngestBodies"/>),
/// decoded through the format registry and normalised with the default limits. The only acceptable failures
/// are the client errors the endpoint turns into 4xx (<see cref="ProfileFormatException"/>,
/// <see cref="ProfileValidationException"/>); anything else (an index or cast exception, a hang) is a 5xx
/// waiting to happen. Counts and seed: <see cref="FuzzSettings"/>.
/// </summary>
public sealed class IngestFuzzTests
{
    private const long Now = 1_700_000_005_000_000_000;
    private const int CiCases = 2000;

    private static readonly TenantLimits Limits = TenantLimits.Defaults with { RejectOlderThan = TimeSpan.Zero, RejectNewerThan = TimeSpan.Zero };

    public static TheoryData<string> Formats => new(IngestBodies.Formats);

    [Theory]
    [MemberData(nameof(Formats))]
    public async Task Mutated_bodies_decode_or_are_refused_as_client_errors(string format)
    {
        var cases = FuzzSettings.Cases(format == "jfr" ? CiCases / 2 : CiCases);
        var report = await FuzzRunner.RunAsync($"{nameof(IngestFuzzTests)}.{format}", cases, parallelism: 2,
            (random, _) => RunCase(IngestBodies.Create(format, random, Now / 1_000_000_000)), TestContext.Current.CancellationToken);
        Assert.True(report.Failures.Count == 0, report.ToString());
    }

    /// <summary>Null when the case ended in a result or a client error; otherwise what went wrong.</summary>
    private static string? RunCase(IngestCase input)
    {
        try
        {
            var parsed = System.Web.HttpUtility.ParseQueryString(input.Query);
            var md = IngestMetadata.Parse(name => parsed[name], Now);
            var seriesSoFar = 0;
            foreach (var profile in IngestFormatRegistry.BuiltIn.Decode(md, input.ContentType, input.Body, Limits.MaxProfilePayloadBytes))
            {
                var series = ProfileNormalizer.Normalize(profile.Profile, profile.Labels, Limits, new NormalizeContext(Now, md.FromNanos, profile.DecompressedSize)
                {
                    MaxSeries = Limits.MaxGlobalSeriesPerTenant - seriesSoFar,
                    SeriesSoFar = seriesSoFar,
                    MaxSeriesSource = "max_global_series_per_tenant",
                });
                seriesSoFar += series.Count;
                foreach (var s in series)
                {
                    foreach (var sample in s.Profile.Sample)
                    {
                        if (sample.Value.Count != 1)
                        {
                            return $"a normalised sample has {sample.Value.Count} values";
                        }
                    }
                }
            }
            return null;
        }
        catch (Exception e) when (e is ProfileFormatException or ProfileValidationException)
        {
            return e.Message.Length == 0 ? $"{e.GetType().Name} without a message" : null;
        }
    }
}
