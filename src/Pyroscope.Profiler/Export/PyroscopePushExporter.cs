using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using Pyroscope.Profiler.Export.Wire;

namespace Pyroscope.Profiler.Export;

/// <summary>
/// Pushes a window as upstream's .NET agent does: one <c>push.v1.PusherService/Push</c> call (Connect,
/// <c>application/proto</c>) whose series carry <c>__name__</c> (process_cpu, wall, memory, lock,
/// exception), <c>service_name</c>, <c>pyroscope_spy=dotnetspy</c> and the static tags, each with one
/// gzipped single-sample-type pprof.
/// </summary>
public sealed class PyroscopePushExporter : IProfileExporter
{
    private static readonly MediaTypeHeaderValue ProtoContentType = new("application/proto");

    private readonly HttpClient _http;
    private readonly Uri _pushUri;
    private readonly LabelPair[] _staticLabels;
    private readonly string? _tenantId;
    private readonly AuthenticationHeaderValue? _authorization;
    private readonly IReadOnlyDictionary<string, string> _headers;

    /// <param name="http">The client to send with (its handler decides proxies, TLS); it is not disposed here.</param>
    public PyroscopePushExporter(HttpClient http, ProfilerOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _pushUri = new Uri(new Uri(options.ServerAddress.TrimEnd('/') + "/"), "push.v1.PusherService/Push");
        var labels = new List<LabelPair>
        {
            new() { Name = "service_name", Value = options.ApplicationName },
            new() { Name = "pyroscope_spy", Value = "dotnetspy" },
        };
        foreach (var (key, value) in options.Tags.OrderBy(static t => t.Key, StringComparer.Ordinal))
        {
            labels.Add(new LabelPair { Name = key, Value = value });
        }
        _staticLabels = [.. labels];
        _tenantId = string.IsNullOrEmpty(options.TenantId) ? null : options.TenantId;
        if (!string.IsNullOrEmpty(options.BasicAuthUser))
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.BasicAuthUser}:{options.BasicAuthPassword}"));
            _authorization = new AuthenticationHeaderValue("Basic", credentials);
        }
        _headers = new Dictionary<string, string>(options.HttpHeaders, StringComparer.OrdinalIgnoreCase);
    }

    public async Task ExportAsync(ProfileBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Profiles.Count == 0)
        {
            return;
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, _pushUri) { Content = BodyOf(batch) };
        foreach (var (name, value) in _headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        if (_tenantId is not null)
        {
            request.Headers.Add("X-Scope-OrgID", _tenantId);
        }
        request.Headers.Authorization = _authorization;
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new ProfileExportException($"push to {_pushUri.GetLeftPart(UriPartial.Authority)} failed: {e.Message}", retryable: true, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ProfileExportException($"push to {_pushUri.GetLeftPart(UriPartial.Authority)} timed out", retryable: true, e);
        }
        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                var retryable = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;
                throw new ProfileExportException(
                    $"push to {_pushUri.GetLeftPart(UriPartial.Authority)} answered {(int)response.StatusCode}: {Truncate(body)}", retryable);
            }
        }
    }

    private ByteArrayContent BodyOf(ProfileBatch batch)
    {
        var push = new PushRequest();
        foreach (var (type, profile) in batch.Profiles)
        {
            var series = new RawProfileSeries();
            series.Labels.Add(new LabelPair { Name = "__name__", Value = type.Name });
            series.Labels.Add(_staticLabels);
            series.Samples.Add(new RawSample { RawProfile = Gzipped(profile) });
            push.Series.Add(series);
        }
        var content = new ByteArrayContent(push.ToByteArray());
        content.Headers.ContentType = ProtoContentType;
        return content;
    }

    private static ByteString Gzipped(Pprof.Profile profile)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            profile.WriteTo(gzip);
        }
        return ByteString.CopyFrom(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string Truncate(string body) => body.Length <= 256 ? body : body[..256] + "…";
}
