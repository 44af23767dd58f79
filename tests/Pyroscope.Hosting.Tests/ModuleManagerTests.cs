using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Hosting.Tests;

public class ModuleManagerTests
{
    private sealed class RecordingService(string module, List<string> journal, Func<CancellationToken, Task>? start = null) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            lock (journal)
            {
                journal.Add("start " + module);
            }
            if (start is not null)
            {
                await start(cancellationToken);
            }
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            lock (journal)
            {
                journal.Add("stop " + module);
            }
            return Task.CompletedTask;
        }
    }

    private sealed class LoopService(Task loop) : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => loop.WaitAsync(stoppingToken);
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

    private static ActiveModules Active(params string[] targets)
    {
        var registry = PyroscopeModules.CreateRegistry();
        return new ActiveModules(registry.Expand(targets), registry.DependenciesOf);
    }

    private static (ModuleManager Manager, FakeLifetime Lifetime) Create(ActiveModules active, Dictionary<string, IHostedService[]> services)
    {
        var lifetime = new FakeLifetime();
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var manager = new ModuleManager(active, m => services.TryGetValue(m, out var s) ? s : [], lifetime, NullLogger<ModuleManager>.Instance, provider.GetRequiredService<IMeterFactory>());
        return (manager, lifetime);
    }

    [Fact]
    public async Task Starts_after_dependencies_stops_in_reverse_and_is_ready_only_when_all_run()
    {
        var journal = new List<string>();
        var (manager, lifetime) = Create(Active(ModuleNames.Ingester), new()
        {
            [ModuleNames.Storage] = [new RecordingService(ModuleNames.Storage, journal)],
            [ModuleNames.Ingester] = [new RecordingService(ModuleNames.Ingester, journal)],
            [ModuleNames.Server] = [new RecordingService(ModuleNames.Server, journal)],
        });

        Assert.False(manager.IsReady);
        await manager.StartAsync(CancellationToken.None);
        await manager.WhenStarted;
        Assert.False(manager.IsReady); // the server has not started listening yet
        lifetime.Start();
        Assert.True(manager.IsReady);
        await manager.StopAsync(CancellationToken.None);

        Assert.Equal("start server", journal[0]);
        Assert.True(journal.IndexOf("start storage") < journal.IndexOf("start ingester"));
        Assert.Equal(["stop ingester", "stop storage", "stop server"], journal[^3..]);
        Assert.All(manager.States.Values, s => Assert.Equal(ModuleState.Terminated, s));
        Assert.False(manager.IsReady);
    }

    [Fact]
    public async Task A_failing_start_fails_its_module_and_dependents_never_start()
    {
        var journal = new List<string>();
        var (manager, lifetime) = Create(Active(ModuleNames.Ingester), new()
        {
            [ModuleNames.Storage] = [new RecordingService(ModuleNames.Storage, journal, _ => Task.FromException(new InvalidOperationException("disk is full")))],
            [ModuleNames.Ingester] = [new RecordingService(ModuleNames.Ingester, journal)],
        });

        await manager.StartAsync(CancellationToken.None);
        await manager.WhenStarted;
        lifetime.Start();

        Assert.True(lifetime.StopRequested);
        Assert.True(manager.HasFailed);
        Assert.False(manager.IsReady);
        Assert.Equal(ModuleState.Failed, manager.States[ModuleNames.Storage]);
        Assert.Equal("disk is full", manager.Failures[ModuleNames.Storage]);
        Assert.Equal(ModuleState.New, manager.States[ModuleNames.Ingester]);
        Assert.DoesNotContain("start ingester", journal);
    }

    [Fact]
    public async Task A_module_still_starting_does_not_hold_back_modules_that_do_not_need_it()
    {
        var journal = new List<string>();
        var storeReachable = new TaskCompletionSource();
        var (manager, lifetime) = Create(Active(ModuleNames.Distributor, ModuleNames.Ingester), new()
        {
            [ModuleNames.Storage] = [new RecordingService(ModuleNames.Storage, journal, ct => storeReachable.Task.WaitAsync(ct))],
            [ModuleNames.Distributor] = [new RecordingService(ModuleNames.Distributor, journal)],
            [ModuleNames.Ingester] = [new RecordingService(ModuleNames.Ingester, journal)],
        });
        lifetime.Start();

        await manager.StartAsync(CancellationToken.None);
        await WaitUntil(() => manager.StateOf(ModuleNames.Distributor) == ModuleState.Running);
        Assert.Equal(ModuleState.Starting, manager.StateOf(ModuleNames.Storage));
        Assert.Equal(ModuleState.New, manager.StateOf(ModuleNames.Ingester));
        Assert.False(manager.IsReady);

        storeReachable.SetResult();
        await manager.WhenStarted;
        Assert.True(manager.IsReady);
        Assert.True(journal.IndexOf("start storage") < journal.IndexOf("start ingester"));
    }

    [Fact]
    public async Task Stopping_while_a_module_starts_cancels_it_without_failing()
    {
        var (manager, lifetime) = Create(Active(ModuleNames.Ingester), new()
        {
            [ModuleNames.Storage] = [new RecordingService(ModuleNames.Storage, [], ct => Task.Delay(Timeout.Infinite, ct))],
        });
        lifetime.Start();
        await manager.StartAsync(CancellationToken.None);
        await WaitUntil(() => manager.StateOf(ModuleNames.Storage) == ModuleState.Starting);

        await manager.StopAsync(CancellationToken.None);

        Assert.False(manager.HasFailed);
        Assert.False(lifetime.StopRequested);
        Assert.All(manager.States.Values, s => Assert.Equal(ModuleState.Terminated, s));
    }

    [Fact]
    public async Task A_background_loop_that_faults_after_start_fails_its_module_and_stops_the_process()
    {
        var loop = new TaskCompletionSource();
        var (manager, lifetime) = Create(Active(ModuleNames.Compactor), new()
        {
            [ModuleNames.Compactor] = [new LoopService(loop.Task)],
        });
        lifetime.Start();
        await manager.StartAsync(CancellationToken.None);
        await manager.WhenStarted;
        Assert.True(manager.IsReady);

        loop.SetException(new IOException("object store refused the write"));
        await WaitUntil(() => manager.HasFailed);

        Assert.True(lifetime.StopRequested);
        Assert.Equal(ModuleState.Failed, manager.StateOf(ModuleNames.Compactor));
        Assert.Equal("object store refused the write", manager.Failures[ModuleNames.Compactor]);
        Assert.False(manager.IsReady);
    }

    [Fact]
    public void Hosted_services_an_init_registers_belong_to_that_module_once()
    {
        var registry = new ModuleRegistry()
            .Register(ModuleDefinition.Internal("ring", c => c.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SharedService>())))
            .Register(ModuleDefinition.Target("ingester", c =>
            {
                c.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SharedService>());
                c.Services.AddHostedService<OwnService>();
            }));
        registry.DependsOn("ingester", "ring");
        var active = new ActiveModules(registry.Expand(["ingester"]), registry.DependenciesOf);
        var services = new ServiceCollection();
        var context = new ModuleContext(services, new ConfigurationBuilder().Build(), active, []);
        foreach (var module in active.InStartOrder)
        {
            context.Initialise(registry[module]);
        }

        using var provider = services.BuildServiceProvider();
        Assert.Empty(provider.GetServices<IHostedService>()); // none left for the generic host to start on its own
        Assert.IsType<SharedService>(Assert.Single(provider.GetKeyedServices<IHostedService>("ring")));
        Assert.IsType<OwnService>(Assert.Single(provider.GetKeyedServices<IHostedService>("ingester")));
    }

    private sealed class SharedService : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private sealed class OwnService : BackgroundService
    {
        protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Delay(Timeout.Infinite, stoppingToken);
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(10, timeout.Token);
        }
    }
}
