using System.Globalization;
using System.Net.Http.Headers;
using Google.Protobuf;
using Pyroscope.Contracts.Push.V1;
using Pyroscope.Contracts.Types.V1;

namespace Pyroscope.LoadTest.Workload;

/// <summary>Makes the n-th request of a run. Must be thread-safe: every connection calls it.</summary>
public interface IWorkload
{
    string Description { get; }

    HttpRequestMessage Create(long index, out int bodyBytes);
}

/// <summary>
/// Where the n-th request goes: a (service, pod, profile) combination cycling through services × pods ×
/// profiles, so every series is hit regularly and the number of series is what a fleet of that size makes.
/// </summary>
public sealed class SeriesSpace(int services, int pods, int profiles)
{
    public int Services { get; } = services;

    public int Pods { get; } = pods;

    public int Profiles { get; } = profiles;

    public long Combinations => (long)Services * Pods * Profiles;

    public (int Service, int Pod, int Profile) At(long index)
    {
        var profile = (int)(index % Profiles);
        var pod = (int)(index / Profiles % Pods);
        var service = (int)(index / ((long)Profiles * Pods) % Services);
        return (service, pod, profile);
    }

    public static string ServiceName(int service) => "loadtest-svc-" + service.ToString("000", CultureInfo.InvariantCulture);

    public static string PodName(int service, int pod) => $"svc{service}-pod-{pod}";

    /// <summary>The <c>name</c> parameter of <c>/ingest</c> for one (service, pod): <c>service{labels}</c>, URL-escaped.</summary>
    public static string IngestName(int service, int pod) =>
        Uri.EscapeDataString(ServiceName(service) + "{" + string.Join(',', Array.ConvertAll(ExtraLabels(service, pod), l => l.Name + "=" + l.Value)) + "}");

    /// <summary>Namespace and region vary too (10 namespaces, 3 regions), as in a real fleet's labels.</summary>
    public static (string Name, string Value)[] ExtraLabels(int service, int pod) =>
    [
        ("namespace", "ns-" + (service % 10).ToString(CultureInfo.InvariantCulture)),
        ("pod", PodName(service, pod)),
        ("region", (service % 3) switch { 0 => "eu-west", 1 => "us-east", _ => "ap-south" }),
    ];
}

/// <summary>
/// <c>POST /ingest?name=svc{labels}&amp;from&amp;until&amp;format=pprof&amp;spyName=…</c> with a gzipped pprof body,
/// as the Node.js and eBPF agents send it (raw body, <c>application/octet-stream</c>).
/// </summary>
public sealed class IngestWorkload : IWorkload
{
    private readonly SeriesSpace _space;
    private readonly IReadOnlyList<FixtureBody> _bodies;
    private readonly string[] _names;

    public IngestWorkload(SeriesSpace space, IReadOnlyList<FixtureBody> bodies)
    {
        _space = new SeriesSpace(space.Services, space.Pods, bodies.Count);
        _bodies = bodies;
        _names = new string[space.Services * space.Pods];
        for (var s = 0; s < space.Services; s++)
        {
            for (var p = 0; p < space.Pods; p++)
            {
                _names[s * space.Pods + p] = SeriesSpace.IngestName(s, p);
            }
        }
    }

    public string Description => $"/ingest, {string.Join(" + ", BodyNames(_bodies))}, {_space.Services} services x {_space.Pods} pods";

    public HttpRequestMessage Create(long index, out int bodyBytes)
    {
        var (service, pod, profile) = _space.At(index);
        var body = _bodies[profile];
        var gzipped = body.Gzipped;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var url = string.Create(CultureInfo.InvariantCulture,
            $"/ingest?name={_names[service * _space.Pods + pod]}&from={now - 10}&until={now}&format=pprof&spyName={body.SpyName}&sampleRate=100");
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(gzipped) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        bodyBytes = gzipped.Length;
        return request;
    }

    internal static IEnumerable<string> BodyNames(IReadOnlyList<FixtureBody> bodies)
    {
        foreach (var body in bodies)
        {
            yield return $"{body.Name} ({body.Gzipped.Length / 1024.0:F1} KB gz, {body.SampleCount} samples)";
        }
    }
}

/// <summary>
/// Connect unary <c>POST /push.v1.PusherService/Push</c>, <c>application/proto</c>: one series with one gzipped
/// pprof per request, labels as Grafana Alloy sends them (<c>__name__</c>, <c>service_name</c>, …).
/// </summary>
public sealed class PushWorkload : IWorkload
{
    private readonly SeriesSpace _space;
    private readonly IReadOnlyList<FixtureBody> _bodies;
    private readonly LabelPair[][] _labels;

    public PushWorkload(SeriesSpace space, IReadOnlyList<FixtureBody> bodies)
    {
        _space = new SeriesSpace(space.Services, space.Pods, bodies.Count);
        _bodies = bodies;
        _labels = new LabelPair[space.Services * space.Pods * bodies.Count][];
        for (var s = 0; s < space.Services; s++)
        {
            for (var p = 0; p < space.Pods; p++)
            {
                for (var b = 0; b < bodies.Count; b++)
                {
                    var labels = new List<LabelPair>
                    {
                        new() { Name = "__name__", Value = bodies[b].ProfileName },
                        new() { Name = "service_name", Value = SeriesSpace.ServiceName(s) },
                    };
                    foreach (var (name, value) in SeriesSpace.ExtraLabels(s, p))
                    {
                        labels.Add(new LabelPair { Name = name, Value = value });
                    }
                    _labels[(s * space.Pods + p) * bodies.Count + b] = [.. labels];
                }
            }
        }
    }

    public string Description => $"Connect Push (application/proto), {string.Join(" + ", IngestWorkload.BodyNames(_bodies))}, {_space.Services} services x {_space.Pods} pods";

    public HttpRequestMessage Create(long index, out int bodyBytes)
    {
        var (service, pod, profile) = _space.At(index);
        var series = new RawProfileSeries();
        series.Labels.Add(_labels[(service * _space.Pods + pod) * _bodies.Count + profile]);
        series.Samples.Add(new RawSample
        {
            RawProfile = UnsafeByteOperations.UnsafeWrap(_bodies[profile].Gzipped),
            ID = Guid.NewGuid().ToString(),
        });
        var push = new PushRequest();
        push.Series.Add(series);
        var bytes = push.ToByteArray();
        var request = new HttpRequestMessage(HttpMethod.Post, "/push.v1.PusherService/Push") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        request.Headers.Add("Connect-Protocol-Version", "1");
        bodyBytes = bytes.Length;
        return request;
    }
}
