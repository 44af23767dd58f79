using System.Net.Http.Headers;
using Google.Protobuf;
using Pyroscope.Contracts.Settings.V1;
using Pyroscope.Model;

namespace Pyroscope.Recording;

/// <summary>
/// Reads a tenant's rules from a tenant-settings service with the same Connect call Profiles Drilldown makes
/// (<c>ListRecordingRules</c>, tenant in <c>X-Scope-OrgID</c>), as upstream's rules client does for its
/// compaction workers. Without an address it answers "no rules".
/// </summary>
public sealed class ConnectRecordingRuleSource : IRecordingRuleSource, IDisposable
{
    private const string ListPath = "/settings.v1.RecordingRulesService/ListRecordingRules";

    private readonly HttpClient? _http;

    public ConnectRecordingRuleSource(RecordingRulesOptions options)
    {
        if (options.ClientAddress.Length > 0)
        {
            _http = new HttpClient { BaseAddress = new Uri(options.ClientAddress.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(10) };
        }
    }

    public event Action<string, IReadOnlyList<RecordingRule>>? Changed
    {
        add { }
        remove { }
    }

    public bool Configured => _http is not null;

    public async Task<IReadOnlyList<RecordingRule>> ListAsync(string tenantId, CancellationToken cancellationToken)
    {
        if (_http is null)
        {
            return [];
        }
        using var content = new ByteArrayContent(new ListRecordingRulesRequest().ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var message = new HttpRequestMessage(HttpMethod.Post, ListPath.TrimStart('/')) { Content = content };
        message.Headers.Add("Connect-Protocol-Version", "1");
        message.Headers.Add(OrgIdHeader.HttpName, tenantId);
        using var response = await _http.SendAsync(message, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{_http.BaseAddress}{ListPath.TrimStart('/')} answered {(int)response.StatusCode}: {System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 512))}");
        }
        return ListRecordingRulesResponse.Parser.ParseFrom(body).Rules;
    }

    public void Dispose() => _http?.Dispose();
}
