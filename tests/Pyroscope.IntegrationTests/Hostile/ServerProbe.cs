using System.Globalization;
using System.Net.Http.Headers;
using Google.Protobuf;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests.Hostile;

/// <summary>What the hostile-input tests observe of a running server: its resident memory, and raw Connect calls.</summary>
public static class ServerProbe
{
    /// <summary>Resident set size of the server process (Linux /proc), in bytes.</summary>
    public static long ResidentBytes(PyroscopeProcess server)
    {
        foreach (var line in File.ReadLines($"/proc/{server.Process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        throw new InvalidOperationException("no VmRSS in /proc status");
    }

    /// <summary>The highest resident set size seen every 20 ms until <paramref name="stop"/>, and how many samples that took.</summary>
    public static async Task<(long Peak, int Samples)> SamplePeakAsync(PyroscopeProcess server, CancellationToken stop)
    {
        long peak = 0;
        var samples = 0;
        while (!stop.IsCancellationRequested)
        {
            peak = Math.Max(peak, ResidentBytes(server));
            samples++;
            try
            {
                await Task.Delay(20, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return (Math.Max(peak, ResidentBytes(server)), samples);
    }

    public static string Megabytes(long bytes) => (bytes / (1024.0 * 1024)).ToString("0", CultureInfo.InvariantCulture) + " MB";

    /// <summary>One Connect unary call in proto or JSON (or the given raw body), returning status, the error code if any, and the body.</summary>
    public static async Task<(int Status, string Body)> ConnectAsync(HttpClient http, string path, byte[] body, bool json, string? tenant, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(json ? "application/json" : "application/proto");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Add("Connect-Protocol-Version", "1");
        if (tenant is not null)
        {
            request.Headers.Add("X-Scope-OrgID", tenant);
        }
        using var response = await http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return ((int)response.StatusCode, text);
    }

    public static byte[] Encode(IMessage message, bool json) =>
        json ? System.Text.Encoding.UTF8.GetBytes(JsonFormatter.Default.Format(message)) : message.ToByteArray();

    /// <summary>No 5xx, except 501 for a feature named as not implemented (Connect's unimplemented).</summary>
    public static string? ProblemWith(int status, string body) =>
        status < 500 || (status == 501 && body.Contains("\"code\":\"unimplemented\"", StringComparison.Ordinal))
            ? null
            : $"answered {status}: {(body.Length > 300 ? body[..300] : body)}";
}
