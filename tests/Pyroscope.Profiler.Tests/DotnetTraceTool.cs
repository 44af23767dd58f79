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

    // Two test classes use this fixture and xunit runs them in parallel: one shared install,
    // or the second `dotnet tool install` trips over the first one's half-written tool store.
    private static readonly Lazy<Task<string>> SharedInstall = new(InstallAsync);

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("DOTNET_TRACE");
        Path = string.IsNullOrEmpty(configured) ? await SharedInstall.Value : configured;
    }

    private static async Task<string> InstallAsync()
    {
        var toolDirectory = System.IO.Path.Combine(AppContext.BaseDirectory, "tools");
        var path = System.IO.Path.Combine(toolDirectory, OperatingSystem.IsWindows() ? "dotnet-trace.exe" : "dotnet-trace");
        if (File.Exists(path))
        {
            return path;
        }
        var (exitCode, output) = await RunAsync("dotnet", $"tool install --tool-path \"{toolDirectory}\" dotnet-trace --version {Version}", TimeSpan.FromMinutes(3));
        Assert.True(exitCode == 0 && File.Exists(path), $"installing dotnet-trace failed ({exitCode}): {output}");
        return path;
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
