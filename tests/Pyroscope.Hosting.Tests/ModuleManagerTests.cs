using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Hosting.Tests;

public class ModuleManagerTests
{
    private sealed class RecordingService(string module, List<string> journal, bool failOnStart = false) : IModuleService
    {
        public string Module => module;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            journal.Add("start " + module);
            return failOnStart ? Task.FromException(new InvalidOperationException("disk is full")) : Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            journal.Add("stop " + module);
            return Task.CompletedTask;
        }
    }

    private sealed class FakeLifetime : IHostApplicationLifetime
    {
        private readonly CancellationTokenSource _started = new();

        public bool StopRequested { get; private set; }

        public CancellationToken ApplicationStarted => _started.Token;

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication() => StopRequested = true;

        public void Start() => _started.Cancel();
    }

    private static (ModuleManager Manager, FakeLifetime Lifetime) Create(IReadOnlyList<string> order, IEnumerable<IModuleService> services)
    {
        var lifetime = new FakeLifetime();
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var manager = new ModuleManager(new ActiveModules(order), services, lifetime, NullLogger<ModuleManager>.Instance, provider.GetRequiredService<IMeterFactory>());
        return (manager, lifetime);
    }

    [Fact]
    public async Task Starts_in_dependency_order_stops_in_reverse_and_is_ready_only_when_all_run()
    {
        var journal = new List<string>();
        var order = PyroscopeModules.CreateRegistry([]).Expand([ModuleNames.Ingester]);
        var (manager, lifetime) = Create(order, [new RecordingService(ModuleNames.Storage, journal), new RecordingService(ModuleNames.Ingester, journal), new RecordingService(ModuleNames.Server, journal)]);

        Assert.False(manager.IsReady);
        await manager.StartAsync(CancellationToken.None);
        Assert.False(manager.IsReady); // the server has not started listening yet
        lifetime.Start();
        Assert.True(manager.IsReady);
        await manager.StopAsync(CancellationToken.None);

        Assert.Equal(["start server", "start storage", "start ingester", "stop ingester", "stop storage", "stop server"], journal);
        Assert.All(manager.States.Values, s => Assert.Equal(ModuleState.Terminated, s));
        Assert.False(manager.IsReady);
    }

    [Fact]
    public async Task One_failing_module_stops_the_process_and_later_modules_never_start()
    {
        var journal = new List<string>();
        var order = PyroscopeModules.CreateRegistry([]).Expand([ModuleNames.Ingester]);
        var (manager, lifetime) = Create(order, [new RecordingService(ModuleNames.Storage, journal, failOnStart: true), new RecordingService(ModuleNames.Ingester, journal)]);

        await manager.StartAsync(CancellationToken.None);
        lifetime.Start();

        Assert.True(lifetime.StopRequested);
        Assert.True(manager.HasFailed);
        Assert.False(manager.IsReady);
        Assert.Equal(ModuleState.Failed, manager.States[ModuleNames.Storage]);
        Assert.Equal(ModuleState.New, manager.States[ModuleNames.Ingester]);
        Assert.DoesNotContain("start ingester", journal);
    }

    [Fact]
    public void A_service_of_a_module_not_in_this_process_is_a_wiring_error()
    {
        var order = PyroscopeModules.CreateRegistry([]).Expand([ModuleNames.Distributor]);
        Assert.Throws<InvalidOperationException>(() => Create(order, [new RecordingService(ModuleNames.Ingester, [])]));
    }
}
