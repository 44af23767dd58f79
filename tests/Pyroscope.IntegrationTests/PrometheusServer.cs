using System.Globalization;
using System.Text.Json;
using Pyroscope.Testing;

namespace Pyroscope.IntegrationTests;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c> package) scraping a Pyroscope process's
/// <c>/recording-rules/metrics</c> every second and evaluating the given rule file every second.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly HttpClient _http;

    private PrometheusServer(ExternalProcess process, int port, string directory)
    {
        _process = process;
        Directory = directory;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
    }

    public string Directory { get; }

    public static async Task<PrometheusServer> StartAsync(int pyroscopeHttpPort, string ruleFile, CancellationToken ct)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("prometheus-").FullName;
        await File.WriteAllTextAsync(Path.Combine(directory, "rules.yml"), ruleFile, ct);
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: [rules.yml]
            scrape_configs:
              - job_name: pyroscope-recording-rules
                metrics_path: /recording-rules/metrics
                static_configs:
                  - targets: ["127.0.0.1:{pyroscopeHttpPort}"]
            """, ct);
        var port = FreePort.Next();
        var process = ExternalProcess.Start("prometheus",
        [
            $"--config.file={Path.Combine(directory, "prometheus.yml")}",
            $"--storage.tsdb.path={Path.Combine(directory, "tsdb")}",
            $"--web.listen-address=127.0.0.1:{port}",
        ], directory);
        var server = new PrometheusServer(process, port, directory);
        await Poll.UntilAsync(async () =>
        {
            try
            {
                using var ready = await server._http.GetAsync("-/ready", ct);
                return ready.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "Prometheus was ready", timeoutSeconds: 60);
        return server;
    }

    /// <summary>The value of an instant query with exactly one result, null while it has none.</summary>
    public async Task<double?> QueryScalarAsync(string query, CancellationToken ct)
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync("api/v1/query?query=" + Uri.EscapeDataString(query), ct));
        var result = document.RootElement.GetProperty("data").GetProperty("result");
        if (result.GetArrayLength() != 1)
        {
            return null;
        }
        return double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
    }

    public async Task<List<string>> FiringAlertsAsync(CancellationToken ct)
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync("api/v1/alerts", ct));
        var names = new List<string>();
        foreach (var alert in document.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray())
        {
            if (alert.GetProperty("state").GetString() == "firing")
            {
                names.Add(alert.GetProperty("labels").GetProperty("alertname").GetString()!);
            }
        }
        return names;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
