using System.Net.Http.Headers;
using Google.Protobuf;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>One real monolith for a test class (<see cref="PyroscopeProcess.StartMonolithAsync"/>).</summary>
public sealed class MonolithFixture : IAsyncLifetime
{
    public PyroscopeProcess Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await PyroscopeProcess.StartMonolithAsync();

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}

/// <summary>Query helpers speaking the wire protocols a Grafana data source speaks.</summary>
public static class Query
{
    public static async Task<TResponse> ConnectAsync<TResponse>(HttpClient http, string method, IMessage request, MessageParser<TResponse> parser, CancellationToken cancellationToken)
        where TResponse : IMessage<TResponse>
    {
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var message = new HttpRequestMessage(HttpMethod.Post, "/querier.v1.QuerierService/" + method) { Content = content };
        message.Headers.Add("Connect-Protocol-Version", "1");
        using var response = await http.SendAsync(message, cancellationToken);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{method} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body)}");
        }
        return parser.ParseFrom(body);
    }

    public static async Task<Dictionary<string, long>> MergedStacksAsync(HttpClient http, string profileTypeId, string selector, long startMs, long endMs, CancellationToken cancellationToken)
    {
        var response = await ConnectAsync(http, "SelectMergeStacktraces", new SelectMergeStacktracesRequest
        {
            ProfileTypeID = profileTypeId,
            LabelSelector = selector,
            Start = startMs,
            End = endMs,
            MaxNodes = 1 << 20,
        }, SelectMergeStacktracesResponse.Parser, cancellationToken);
        var levels = response.Flamegraph.Levels.Select(l => (IReadOnlyList<long>)l.Values.ToList()).ToList();
        return ExpectedStacks.FromFlameGraph(response.Flamegraph.Names, levels);
    }

    /// <summary>SelectMergeProfile: the merged pprof export, decoded like any input profile.</summary>
    public static async Task<Dictionary<string, long>> MergedPprofStacksAsync(HttpClient http, string profileTypeId, string selector, long startMs, long endMs, CancellationToken cancellationToken)
    {
        var profile = await MergedPprofAsync(http, profileTypeId, selector, startMs, endMs, cancellationToken);
        return profile.SampleType.Count == 0 ? [] : ExpectedStacks.FromPprof(profile, 0);
    }

    /// <summary>SelectMergeProfile: the merged pprof export with its symbols.</summary>
    public static Task<Contracts.Google.V1.Profile> MergedPprofAsync(HttpClient http, string profileTypeId, string selector, long startMs, long endMs, CancellationToken cancellationToken) =>
        ConnectAsync(http, "SelectMergeProfile", new SelectMergeProfileRequest
        {
            ProfileTypeID = profileTypeId,
            LabelSelector = selector,
            Start = startMs,
            End = endMs,
        }, Contracts.Google.V1.Profile.Parser, cancellationToken);

    /// <summary>SelectSeries summed over all points, with one step covering the whole range.</summary>
    public static async Task<double> SeriesTotalAsync(HttpClient http, string profileTypeId, string selector, long startMs, long endMs, CancellationToken cancellationToken)
    {
        var response = await ConnectAsync(http, "SelectSeries", new SelectSeriesRequest
        {
            ProfileTypeID = profileTypeId,
            LabelSelector = selector,
            Start = startMs,
            End = endMs,
            Step = (endMs - startMs) / 1000.0,
        }, SelectSeriesResponse.Parser, cancellationToken);
        return response.Series.Sum(s => s.Points.Sum(p => p.Value));
    }

    public static async Task<IReadOnlyList<Contracts.Types.V1.ProfileType>> ProfileTypesAsync(HttpClient http, string service, long startMs, long endMs, CancellationToken cancellationToken)
    {
        var all = await ConnectAsync(http, "ProfileTypes", new ProfileTypesRequest { Start = startMs, End = endMs }, ProfileTypesResponse.Parser, cancellationToken);
        var series = await ConnectAsync(http, "Series", new SeriesRequest { Matchers = { $"{{service_name=\"{service}\"}}" }, Start = startMs, End = endMs }, SeriesResponse.Parser, cancellationToken);
        var ofService = series.LabelsSet.Select(l => l.Labels_.FirstOrDefault(p => p.Name == "__profile_type__")?.Value).ToHashSet();
        return all.ProfileTypes.Where(t => ofService.Contains(t.ID)).ToList();
    }

    /// <summary>Polls until <paramref name="probe"/> stops throwing or returning false (data becomes visible asynchronously).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> probe, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await probe())
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or Xunit.Sdk.XunitException)
            {
                last = ex;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{what} did not happen within {timeout}: {last?.Message}", last);
    }
}
