using System.Net.Http.Headers;
using Google.Protobuf;
using Pyroscope.Contracts.Querier.V1;
using Pyroscope.Testing;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// The package as a user gets it: <c>dotnet pack</c> of the profiler into a local folder feed, a
/// freshly generated <c>dotnet new web</c> app that references it, calls <c>AddPyroscope()</c> and is
/// configured only by upstream's environment variables; it runs, and profiles of every type (with the
/// <c>PYROSCOPE_LABELS</c> label) arrive in the real monolith.
/// </summary>
public sealed class PackageTests
{
    private static readonly string[] EveryType =
    [
        DotNetProfileTypes.Cpu.Id, DotNetProfileTypes.Wall.Id, DotNetProfileTypes.AllocSamples.Id, DotNetProfileTypes.AllocSize.Id,
        DotNetProfileTypes.LockCount.Id, DotNetProfileTypes.LockTime.Id, DotNetProfileTypes.Exception.Id,
    ];

    [Fact]
    public async Task A_new_web_app_with_the_packed_nupkg_pushes_every_profile_type_to_the_monolith()
    {
        var ct = TestContext.Current.CancellationToken;
        var work = Directory.CreateTempSubdirectory("pyroscope-package-test-");
        var version = $"0.1.0-test{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        var cached = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"), "pyroscope.net.profiler", version);
        try
        {
            var feed = Path.Combine(work.FullName, "feed");
            var appDirectory = Path.Combine(work.FullName, "WebApp");
            await DotnetAsync($"pack \"{Path.Combine(RepositoryPaths.Root, "src", "Pyroscope.Profiler", "Pyroscope.Profiler.csproj")}\" --no-build -c {RepositoryPaths.Configuration} -o \"{feed}\" -p:PackageVersion={version}", RepositoryPaths.Root, ct);
            Assert.True(File.Exists(Path.Combine(feed, $"Pyroscope.NET.Profiler.{version}.nupkg")));
            await DotnetAsync($"new web -o \"{appDirectory}\" -n WebApp", work.FullName, ct);
            // The local feed next to the machine's usual sources (the package's dependencies come from there).
            await File.WriteAllTextAsync(Path.Combine(appDirectory, "nuget.config"),
                $"<configuration><packageSources><add key=\"local\" value=\"{feed}\" /></packageSources></configuration>", ct);
            await DotnetAsync($"add package Pyroscope.NET.Profiler --version {version}", appDirectory, ct);
            await AddProfilingAndWorkAsync(Path.Combine(appDirectory, "Program.cs"), ct);
            await DotnetAsync("build -c Release -v:q -nologo", appDirectory, ct);

            await using var server = await PyroscopeProcess.StartMonolithAsync();
            var port = FreePort.Next();
            await using var app = ExternalProcess.Start("dotnet", [Path.Combine(appDirectory, "bin", "Release", "net10.0", "WebApp.dll"), "--urls", $"http://127.0.0.1:{port}"], appDirectory, new Dictionary<string, string?>
            {
                ["PYROSCOPE_APPLICATION_NAME"] = "webapp",
                ["PYROSCOPE_SERVER_ADDRESS"] = server.BaseAddress.ToString().TrimEnd('/'),
                ["PYROSCOPE_LABELS"] = "env:package-test,region=local",
                ["PYROSCOPE_PROFILING_UPLOAD_PERIOD"] = "2",
                ["PYROSCOPE_PROFILING_ALLOCATION_ENABLED"] = "true",
            });
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            var missing = EveryType.ToHashSet();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            while (missing.Count > 0)
            {
                Assert.False(app.HasExited, "the app exited: " + app.Output);
                Assert.True(DateTime.UtcNow < deadline, $"no {string.Join(", ", missing)} from the app; its output: {app.Output}");
                try
                {
                    using var response = await http.GetAsync("/work", ct);
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                foreach (var type in missing.ToList())
                {
                    if (await HasSamplesAsync(server.Http, type, ct))
                    {
                        missing.Remove(type);
                    }
                }
                await Task.Delay(200, ct);
            }
            // Quiet by default: an upload that worked logged nothing.
            Assert.DoesNotContain("Pyroscope profiler upload failed", app.Output, StringComparison.Ordinal);
        }
        finally
        {
            TryDelete(work.FullName);
            TryDelete(cached);
        }
    }

    /// <summary>The template's Program.cs plus one line of profiling and an endpoint that allocates, contends and throws.</summary>
    private static async Task AddProfilingAndWorkAsync(string programPath, CancellationToken ct)
    {
        var program = await File.ReadAllTextAsync(programPath, ct);
        Assert.Contains("var app = builder.Build();", program);
        program = program.Replace("var app = builder.Build();", """
            builder.Services.AddPyroscope();
            var app = builder.Build();
            var gate = new object();
            app.MapGet("/work", () =>
            {
                var sum = 0L;
                Parallel.For(0, 4, _ =>
                {
                    for (var i = 0; i < 200; i++)
                    {
                        lock (gate) { sum += new byte[4096].Length; System.Threading.Thread.SpinWait(2000); }
                    }
                });
                try { throw new InvalidOperationException("work"); } catch (InvalidOperationException) { }
                return sum;
            });
            """, StringComparison.Ordinal);
        await File.WriteAllTextAsync(programPath, program, ct);
    }

    private static async Task<bool> HasSamplesAsync(HttpClient http, string type, CancellationToken ct)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var request = new SelectMergeProfileRequest { ProfileTypeID = type, LabelSelector = "{service_name=\"webapp\", env=\"package-test\", region=\"local\"}", Start = now - 600_000, End = now + 60_000 };
        using var body = new ByteArrayContent(request.ToByteArray());
        body.Headers.ContentType = new MediaTypeHeaderValue("application/proto");
        using var response = await http.PostAsync("/querier.v1.QuerierService/SelectMergeProfile", body, ct);
        var bytes = await response.Content.ReadAsByteArrayAsync(ct);
        Assert.True(response.IsSuccessStatusCode, System.Text.Encoding.UTF8.GetString(bytes));
        return Contracts.Google.V1.Profile.Parser.ParseFrom(bytes).Sample.Count > 0;
    }

    private static async Task DotnetAsync(string arguments, string workingDirectory, CancellationToken ct)
    {
        var info = new System.Diagnostics.ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        using var process = System.Diagnostics.Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        Assert.True(process.ExitCode == 0, $"dotnet {arguments} failed ({process.ExitCode}): {await stdout}{await stderr}");
    }

    private static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
