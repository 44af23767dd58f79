using System.Diagnostics;

namespace Pyroscope.Profiler.Tests;

/// <summary>
/// The real <c>dotnet-trace</c>: <c>DOTNET_TRACE</c> if set, else installed once into
/// <c>&lt;test output&gt;/tools</c> with
/// <c>dotnet tool install --tool-path &lt;dir&gt; dotnet-trace --version 10.0.750501</c>.
/// </summary>
public sealed class DotnetTraceTool : IAsyncLifetime
{
    public const string Version = "10.0.750501";

    public string Path { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("DOTNET_TRACE");
        if (!string.IsNullOrEmpty(configured))
        {
            Path = configured;
            return;
        }
        var toolDirectory = System.IO.Path.Combine(AppContext.BaseDirectory, "tools");
        Path = System.IO.Path.Combine(toolDirectory, OperatingSystem.IsWindows() ? "dotnet-trace.exe" : "dotnet-trace");
        if (File.Exists(Path))
        {
            return;
        }
        var (exitCode, output) = await RunAsync("dotnet", $"tool install --tool-path \"{toolDirectory}\" dotnet-trace --version {Version}", TimeSpan.FromMinutes(3));
        Assert.True(exitCode == 0 && File.Exists(Path), $"installing dotnet-trace failed ({exitCode}): {output}");
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public static async Task<(int ExitCode, string Output)> RunAsync(string file, string arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {arguments} did not finish within {timeout}: {await stdout}{await stderr}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
