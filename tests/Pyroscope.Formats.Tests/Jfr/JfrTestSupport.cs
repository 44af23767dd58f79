using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Pyroscope.Contracts.Google.V1;
using Pyroscope.Testing;

namespace Pyroscope.Formats.Tests.Jfr;

internal static partial class JfrTestSupport
{
    public static string SharedFixture(string relativePath) => RepositoryPaths.Fixture(relativePath);

    public static string LocalFixture(string name) => Path.Combine(AppContext.BaseDirectory, "Jfr", "Fixtures", name);

    public static byte[] ReadGzip(string path)
    {
        using var input = File.OpenRead(path);
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        gzip.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>Runs the JDK's own <c>jfr</c> tool, the independent decoder the tests compare against.</summary>
    public static string RunJfrTool(params string[] arguments)
    {
        var start = new ProcessStartInfo("jfr")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start jfr");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("jfr did not finish in 2 minutes");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"jfr exited with {process.ExitCode}: {stderr.Result}");
        }
        return stdout.Result;
    }

    /// <summary>One event as <c>jfr print --json</c> shows it: its type, collapsed stack (root first) and raw values.</summary>
    public sealed record ToolEvent(string Type, string Stack, JsonElement Values);

    public static List<ToolEvent> PrintEvents(string path, params string[] eventTypes)
    {
        var json = RunJfrTool("print", "--json", "--stack-depth", "2048", "--events", string.Join(',', eventTypes), path);
        using var document = JsonDocument.Parse(json);
        var events = new List<ToolEvent>();
        foreach (var e in document.RootElement.GetProperty("recording").GetProperty("events").EnumerateArray())
        {
            var values = e.GetProperty("values");
            var frames = new List<string>();
            if (values.TryGetProperty("stackTrace", out var stackTrace) && stackTrace.ValueKind == JsonValueKind.Object)
            {
                Assert.False(stackTrace.GetProperty("truncated").GetBoolean(), "test programs keep stacks under the depth limit");
                foreach (var frame in stackTrace.GetProperty("frames").EnumerateArray())
                {
                    var method = frame.GetProperty("method");
                    frames.Add(method.GetProperty("type").GetProperty("name").GetString() + "." + method.GetProperty("name").GetString());
                }
            }
            frames.Reverse();
            events.Add(new ToolEvent(e.GetProperty("type").GetString()!, Canonical(string.Join(';', frames)), values.Clone()));
        }
        return events;
    }

    /// <summary>Stacks of one pprof as collapsed text (root first) → summed value.</summary>
    public static Dictionary<string, long> Collapsed(Profile profile)
    {
        Assert.Single(profile.SampleType);
        var functions = profile.Function.ToDictionary(f => f.Id, f => profile.StringTable[(int)f.Name]);
        var locations = profile.Location.ToDictionary(l => l.Id, l => functions[l.Line.Single().FunctionId]);
        var result = new Dictionary<string, long>();
        foreach (var sample in profile.Sample)
        {
            var names = sample.LocationId.Select(id => locations[id]).Reverse();
            var key = Canonical(string.Join(';', names));
            result[key] = result.GetValueOrDefault(key) + sample.Value.Single();
        }
        return result;
    }

    public static string TopFrame(string collapsed) => collapsed[(collapsed.LastIndexOf(';') + 1)..];

    /// <summary>Both decoders name JVM-generated lambda classes differently; compare them by their enclosing class.</summary>
    public static string Canonical(string stack) => LambdaSuffix().Replace(stack, "$$$$Lambda");

    [GeneratedRegex(@"\$\$Lambda[^.;]*")]
    private static partial Regex LambdaSuffix();

    public static string Describe(Dictionary<string, long> expected, Dictionary<string, long> actual)
    {
        var sb = new StringBuilder();
        foreach (var key in expected.Keys.Union(actual.Keys).Where(k => expected.GetValueOrDefault(k) != actual.GetValueOrDefault(k)).Take(10))
        {
            sb.AppendLine($"expected {expected.GetValueOrDefault(key)} actual {actual.GetValueOrDefault(key)}: {key}");
        }
        return sb.ToString();
    }
}
