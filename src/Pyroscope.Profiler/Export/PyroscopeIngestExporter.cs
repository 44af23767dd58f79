using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;

namespace Pyroscope.Profiler.Export;

/// <summary>
/// Pushes each profile as upstream's .NET SDK does: <c>POST /ingest?name=app{tags}&amp;from=&amp;until=&amp;spyName=dotnetspy</c>
/// with a multipart body whose <c>profile</c> field is a gzipped pprof. One request per profile
/// type, because upstream names a multipart pprof's series after its sample types.
/// </summary>
public sealed class PyroscopeIngestExporter : IProfileExporter
{
    private readonly HttpClient _http;
    private readonly Uri _ingestBase;
    private readonly string _name;
    private readonly string? _tenantId;
    private readonly AuthenticationHeaderValue? _authorization;

    /// <param name="http">The client to send with (its handler decides proxies, TLS, retries); it is not disposed here.</param>
    public PyroscopeIngestExporter(HttpClient http, ProfilerOptions options)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _ingestBase = new Uri(new Uri(options.ServerAddress.TrimEnd('/') + "/"), "ingest");
        _name = IngestName.Format(options.ApplicationName, options.Tags);
        _tenantId = string.IsNullOrEmpty(options.TenantId) ? null : options.TenantId;
        if (!string.IsNullOrEmpty(options.BasicAuthUser))
        {
            var credentials = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{options.BasicAuthUser}:{options.BasicAuthPassword}"));
            _authorization = new AuthenticationHeaderValue("Basic", credentials);
        }
    }

    public async Task ExportAsync(ProfileBatch batch, CancellationToken cancellationToken)
    {
        var from = batch.From.ToUnixTimeSeconds();
        var until = Math.Max(from, batch.Until.ToUnixTimeSeconds());
        var uri = new Uri($"{_ingestBase}?name={Uri.EscapeDataString(_name)}&from={from}&until={until}&spyName=dotnetspy");
        foreach (var (_, profile) in batch.Profiles)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = MultipartOf(profile) };
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
                throw new ProfileExportException($"POST {_ingestBase} failed: {e.Message}", retryable: true, e);
            }
            catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ProfileExportException($"POST {_ingestBase} timed out.", retryable: true, e);
            }
            using (response)
            {
                if (!response.IsSuccessStatusCode)
                {
                    var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                    var retryable = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;
                    throw new ProfileExportException(
                        $"POST {_ingestBase} answered {(int)response.StatusCode}: {Truncate(body)}", retryable);
                }
            }
        }
    }

    private static MultipartFormDataContent MultipartOf(Contracts.Google.V1.Profile profile)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            profile.WriteTo(gzip);
        }
        var file = new ByteArrayContent(buffer.ToArray());
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return new MultipartFormDataContent { { file, "profile", "profile.pprof" } };
    }

    private static string Truncate(string body) => body.Length <= 256 ? body : body[..256] + "…";
}
