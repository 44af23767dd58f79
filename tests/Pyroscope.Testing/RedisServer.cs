using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pyroscope.Testing;

/// <summary>A real redis-server on a free loopback port (for the ring's KV store); killed on dispose.</summary>
public sealed class RedisServer : IAsyncDisposable
{
    private Process _process;

    private RedisServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Starts a server on a free port and waits until it answers PING.</summary>
    public static async Task<RedisServer> StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort.Next();
            try
            {
                return new RedisServer(await StartProcessAsync(port), port);
            }
            catch (InvalidOperationException e) when (attempt < 5 && e.Message.Contains("exited", StringComparison.Ordinal))
            {
                // The free port was taken by a parallel test before redis-server bound it: pick another.
            }
        }
    }

    /// <summary>Starts redis-server on <paramref name="port"/> and waits until it answers PING.</summary>
    public static async Task<Process> StartProcessAsync(int port)
    {
        var startInfo = new ProcessStartInfo("redis-server")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" })
        {
            startInfo.ArgumentList.Add(argument);
        }
        Process process;
        try
        {
            process = Process.Start(startInfo) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("redis-server is not installed: apt-get install -y redis-server", e);
        }
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with {process.ExitCode} before becoming ready on port {port}");
            }
            if (await PingAsync(port))
            {
                return process;
            }
            await Task.Delay(20);
        }
        process.Kill(entireProcessTree: true);
        throw new TimeoutException($"redis-server did not answer PING on port {port} within 10s");
    }

    private static async Task<bool> PingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(1));
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException)
        {
            return false;
        }
    }

    public static async Task StopProcessAsync(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        process.Dispose();
    }

    /// <summary>
    /// Freezes the server (SIGSTOP): connections stay open but nothing answers, as in a network partition; the ring's
    /// data survives for <see cref="Resume"/>.
    /// </summary>
    public void Pause() => Posix.Freeze(_process.Id);

    /// <summary>Lets a paused server answer again (SIGCONT).</summary>
    public void Resume() => Posix.Send(_process.Id, Posix.SigCont);

    /// <summary>
    /// Kills the server (SIGKILL) and starts a new one on the same port with nothing in it, as a Redis without
    /// persistence comes back after a crash: clients reconnect to an empty store.
    /// </summary>
    public async Task RestartEmptyAsync()
    {
        await StopProcessAsync(_process);
        _process = await StartProcessAsync(Port);
    }

    public async ValueTask DisposeAsync() => await StopProcessAsync(_process);
}
