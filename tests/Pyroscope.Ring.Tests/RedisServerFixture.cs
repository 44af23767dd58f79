using System.Diagnostics;
using Pyroscope.Testing;

namespace Pyroscope.Ring.Tests;

/// <summary>A real redis-server on a free loopback port, for the whole test class (see <see cref="RedisServer"/>).</summary>
public sealed class RedisServerFixture : IAsyncLifetime
{
    private RedisServer? _server;

    public int Port => _server?.Port ?? throw new InvalidOperationException("not started");

    public string Address => $"127.0.0.1:{Port}";

    public static int FreePort() => Testing.FreePort.Next();

    public async ValueTask InitializeAsync() => _server = await RedisServer.StartAsync();

    /// <summary>Starts redis-server on <paramref name="port"/> and waits until it answers PING.</summary>
    public static Task<Process> StartAsync(int port) => RedisServer.StartProcessAsync(port);

    public static Task StopAsync(Process process) => RedisServer.StopProcessAsync(process);

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }
}
