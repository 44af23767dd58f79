using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Grpc.AspNetCore.Server;
using Pyroscope.Hosting.Configuration;
using Pyroscope.Hosting.Modules;
using Pyroscope.Ingester.Client;
using Pyroscope.Model;
using Pyroscope.Testing;

namespace Pyroscope.Hosting.Tests;

/// <summary>The module table's wiring of the real component libraries, and the lifecycle as HTTP clients see it.</summary>
public class CompositionTests
{
    private static WebApplication Build(string target, IReadOnlyList<ComponentLibrary> components, ModuleRegistry? registry = null, int httpPort = 0, params string[] flags)
    {
        var data = Directory.CreateTempSubdirectory("composition-").FullName;
        var commandLine = CommandLine.Parse([
            $"-target={target}", $"-server.http-listen-port={(httpPort == 0 ? FreePort.Next() : httpPort)}", $"-server.grpc-listen-port={FreePort.Next()}",
            "-server.http-listen-address=127.0.0.1", "-server.grpc-listen-address=127.0.0.1", "-self-profiling.disable-push=true",
            $"-pyroscopedb.data-path={Path.Combine(data, "local")}", $"-storage.filesystem.dir={Path.Combine(data, "shared")}", .. flags]);
        var settings = PyroscopeSettings.Load(commandLine, ModuleNames.All);
        registry ??= PyroscopeModules.CreateRegistry();
        return PyroscopeProgram.Build(settings, registry, registry.Expand(settings.Targets), components);
    }

    [Fact]
    public async Task The_monolith_binds_both_seams_to_its_own_ingester()
    {
        await using var app = Build("all", All.Program.Components);

        var client = app.Services.GetRequiredService<IIngesterClient>();
        var reader = app.Services.GetRequiredService<IProfileReader>();

        Assert.Same(app.Services.GetRequiredKeyedService<IIngesterClient>(InProcessSeams.Ingester), client);
        Assert.Same(app.Services.GetRequiredKeyedService<IProfileReader>(InProcessSeams.Ingester), reader);
        Assert.Null(app.Services.GetService<RingIngesterClient>());
        Assert.Null(app.Services.GetService<StoreAndIngestersReader>());
    }

    [Fact]
    public async Task Without_an_ingester_in_the_process_the_seams_go_over_the_network()
    {
        // Nothing connects to this Redis while the services are only resolved.
        await using var app = Build("distributor,querier", All.Program.Components, flags: ["-ring.store=redis", "-ring.redis.address=127.0.0.1:1"]);

        Assert.IsType<RingIngesterClient>(app.Services.GetRequiredService<IIngesterClient>());
        Assert.IsType<StoreAndIngestersReader>(app.Services.GetRequiredService<IProfileReader>());
        Assert.Null(app.Services.GetKeyedService<IIngesterClient>(InProcessSeams.Ingester));
    }

    [Fact]
    public async Task A_querier_whose_ring_is_in_its_own_memory_reads_the_store_alone()
    {
        // No ingester can ever join an in-process ring of a process that runs none: asking it would fail every read.
        await using var app = Build("querier", All.Program.Components);

        Assert.IsType<Pyroscope.Storage.Reading.BlockStoreReader>(app.Services.GetRequiredService<IProfileReader>());
        Assert.Null(app.Services.GetService<StoreAndIngestersReader>());
    }

    [Fact]
    public async Task Every_hosted_service_of_a_component_is_driven_by_its_module()
    {
        await using var app = Build("all", All.Program.Components);

        var manager = app.Services.GetRequiredService<ModuleManager>();
        // The generic host starts only the manager and the service defaults' own services; the modules' services
        // (ingester lifecycle, compactor loop, ring client and lifecycler) are keyed by their module.
        Assert.Contains(manager, app.Services.GetServices<IHostedService>());
        Assert.NotEmpty(app.Services.GetKeyedServices<IHostedService>(ModuleNames.Ingester));
        Assert.NotEmpty(app.Services.GetKeyedServices<IHostedService>(ModuleNames.Compactor));
        Assert.NotEmpty(app.Services.GetKeyedServices<IHostedService>(ModuleNames.Ring));
        Assert.Empty(app.Services.GetKeyedServices<IHostedService>(ModuleNames.Distributor));
    }

    [Fact]
    public async Task The_grpc_message_limits_are_upstreams_100_MiB_unless_set_and_a_bad_one_stops_the_start()
    {
        await using (var app = Build("ingester", Ingester.Program.Components))
        {
            var options = app.Services.GetRequiredService<IOptions<GrpcServiceOptions>>().Value;
            Assert.Equal(100 << 20, options.MaxReceiveMessageSize);
            Assert.Equal(100 << 20, options.MaxSendMessageSize);
        }
        await using (var app = Build("ingester", Ingester.Program.Components, flags: ["-server.grpc-max-recv-msg-size-bytes=8388608", "-server.grpc-max-send-msg-size-bytes=1048576"]))
        {
            var options = app.Services.GetRequiredService<IOptions<GrpcServiceOptions>>().Value;
            Assert.Equal(8 << 20, options.MaxReceiveMessageSize);
            Assert.Equal(1 << 20, options.MaxSendMessageSize);
        }
        var error = Assert.Throws<ConfigurationException>(() => Build("ingester", Ingester.Program.Components, flags: ["-server.grpc-max-recv-msg-size-bytes=0"]));
        Assert.Contains("server:grpc_server_max_recv_msg_size (-server.grpc-max-recv-msg-size-bytes): not a positive number of bytes", error.Message);
    }

    [Fact]
    public void A_target_whose_component_the_executable_lacks_is_refused_naming_it()
    {
        var error = Assert.Throws<ConfigurationException>(() => Build("querier", Distributor.Program.Components));
        Assert.Contains("querier", error.Message);
    }

    [Fact]
    public async Task A_module_still_starting_answers_503_naming_itself_and_serves_once_running()
    {
        var release = new TaskCompletionSource();
        var registry = PyroscopeModules.CreateRegistry()
            .Register(ModuleDefinition.Component("probe", PyroscopeModules.InitComponent));
        registry.DependsOn("probe", ModuleNames.Api);
        var probe = new ComponentLibrary("probe",
            (services, _) => services.AddHostedService(_ => new SlowStart(release.Task)),
            endpoints => endpoints.MapGet("/probe", () => "probe answers"));
        var port = FreePort.Next();
        await using var app = Build("probe", [probe], registry, port);
        await app.StartAsync(TestContext.Current.CancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        var early = await http.GetAsync("/probe", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
        Assert.Contains("module probe is not running (Starting)", await early.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var ready = await http.GetAsync("/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Contains("Starting: probe", await ready.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Contains("probe Starting", await http.GetStringAsync("/services", TestContext.Current.CancellationToken));

        release.SetResult();
        await Poll.UntilAsync(async () => (await http.GetAsync("/ready", TestContext.Current.CancellationToken)).IsSuccessStatusCode, "ready");
        Assert.Equal("probe answers", await http.GetStringAsync("/probe", TestContext.Current.CancellationToken));
        await app.StopAsync(TestContext.Current.CancellationToken);
    }

    private sealed class SlowStart(Task released) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => released.WaitAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
