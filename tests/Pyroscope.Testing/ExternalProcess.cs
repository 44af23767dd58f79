using System.Diagnostics;
using System.Text;

namespace Pyroscope.Testing;

/// <summary>
/// A child process whose output is kept for assertions and failure messages, and which is killed
/// (with its children) when disposed, so no test leaves anything running.
/// </summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _lock = new();

    private ExternalProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Output
    {
        get
        {
            lock (_lock)
            {
                return _output.ToString();
            }
        }
    }

    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var result = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => result.Append(e.Data);
        process.ErrorDataReceived += (_, e) => result.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    /// <summary>Runs to completion (or kills it at the timeout) and returns exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout, string? workingDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        await using var process = Start(fileName, arguments, workingDirectory, environment);
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process._process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{fileName} did not exit within {timeout}; output:\n{process.Output}");
        }
        // WaitForExitAsync returns after the output streams close, so the output is complete here.
        return (process.ExitCode, process.Output);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no graceful shutdown, like a crash.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>SIGTERM: a graceful stop, as an orchestrator sends.</summary>
    public void Terminate()
    {
        if (!_process.HasExited)
        {
            Posix.Kill(_process.Id, Posix.SigTerm);
        }
    }

    /// <summary>
    /// SIGSTOP: the process freezes where it is (a hung process, a long GC pause, a partitioned host): its sockets stay
    /// open and the kernel still accepts connections, but nothing answers until <see cref="Thaw"/>.
    /// </summary>
    public void Freeze() => Posix.Freeze(_process.Id);

    /// <summary>SIGCONT: a frozen process carries on.</summary>
    public void Thaw() => Posix.Send(_process.Id, Posix.SigCont);

    public async ValueTask DisposeAsync()
    {
        try
        {
            Kill();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or never started.
        }
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lock)
        {
            _output.AppendLine(line);
        }
    }
}
