using System.Diagnostics;

namespace Pyroscope.Profiler.Tests;

/// <summary>Runs tests/Pyroscope.Profiler.Workload as a child process; killed on dispose.</summary>
internal sealed class WorkloadProcess : IAsyncDisposable
{
    private readonly Process _process;

    private WorkloadProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public static string WorkloadDll
    {
        get
        {
            // tests/Pyroscope.Profiler.Tests/bin/<Configuration>/net10.0 → tests/Pyroscope.Profiler.Workload/bin/<Configuration>/net10.0
            var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = output.Parent!.Name;
            var tests = output.Parent.Parent!.Parent!.Parent!.FullName;
            var dll = Path.Combine(tests, "Pyroscope.Profiler.Workload", "bin", configuration, output.Name, "Pyroscope.Profiler.Workload.dll");
            Assert.True(File.Exists(dll), $"workload not built: {dll}");
            return dll;
        }
    }

    public static async Task<WorkloadProcess> StartAsync(string arguments, CancellationToken cancellationToken, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet", $"\"{WorkloadDll}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info)!;
        var workload = new WorkloadProcess(process);
        // The workload prints "ready <pid>" once its hot loop runs.
        var line = await process.StandardOutput.ReadLineAsync(cancellationToken);
        if (line is null || !line.StartsWith("ready ", StringComparison.Ordinal))
        {
            // Only read stderr on failure: it ends when the process does.
            Assert.Fail($"workload did not start: {line} {await process.StandardError.ReadToEndAsync(cancellationToken)}");
        }
        return workload;
    }

    /// <summary>Waits for the workload's own exit (after its --seconds), returning its exit code.</summary>
    public async Task<int> WaitForExitAsync(CancellationToken cancellationToken)
    {
        await _process.WaitForExitAsync(cancellationToken);
        return _process.ExitCode;
    }

    /// <summary>What the workload printed after "ready" (read once it exited).</summary>
    public Task<string> RestOfOutputAsync(CancellationToken cancellationToken) => _process.StandardOutput.ReadToEndAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
