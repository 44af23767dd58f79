using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Pyroscope.Profiler.Export;
using Pyroscope.Profiler.Pprof;

namespace Pyroscope.Profiler.Tests;

[Collection(InProcessProfilerCollection.Name)]
public sealed class ExporterTests
{
    private static ProfileBatch SmallBatch()
    {
        var profile = new Profile { StringTable = { "", "cpu", "nanoseconds", "Main" } };
        profile.SampleType.Add(new Pprof.ValueType { Type = 1, Unit = 2 });
        profile.PeriodType = new Pprof.ValueType { Type = 1, Unit = 2 };
        profile.Function.Add(new Function { Id = 1, Name = 3 });
        profile.Location.Add(new Location { Id = 1, Line = { new Line { FunctionId = 1 } } });
        profile.Sample.Add(new Sample { LocationId = { 1 }, Value = { 42 } });
        var now = DateTimeOffset.UtcNow;
        return new ProfileBatch(now.AddSeconds(-10), now, [(DotNetProfileTypes.Cpu, profile)]);
    }

    [Fact]
    public async Task Pushes_a_window_as_upstreams_agent_does_with_tenant_auth_headers_and_tags()
    {
        await using var server = await IngestCaptureServer.StartAsync();
        using var http = new HttpClient();
        var exporter = new PyroscopePushExporter(http, new ProfilerOptions
        {
            ApplicationName = "my.app",
            ServerAddress = server.Address,
            Tags = { ["region"] = "eu-west", ["env"] = "prod" },
            TenantId = "tenant-1",
            BasicAuthUser = "user",
            BasicAuthPassword = "secret",
            HttpHeaders = { ["X-Extra"] = "yes" },
        });
        var batch = SmallBatch();

        await exporter.ExportAsync(batch, TestContext.Current.CancellationToken);

        var push = Assert.Single(server.Pushes);
        Assert.Equal(1, server.Requests);
        Assert.Equal("process_cpu", push.Name);
        Assert.Equal("my.app", push.Labels["service_name"]);
        Assert.Equal("dotnetspy", push.Labels["pyroscope_spy"]);
        Assert.Equal(("eu-west", "prod"), (push.Labels["region"], push.Labels["env"]));
        Assert.StartsWith("application/proto", push.ContentType);
        Assert.Equal("tenant-1", push.Headers["X-Scope-OrgID"]);
        Assert.Equal("yes", push.Headers["X-Extra"]);
        Assert.Equal("Basic " + Convert.ToBase64String("user:secret"u8.ToArray()), push.Headers["Authorization"]);
        Assert.Equal(0x1f, push.Profile[0]); // gzipped pprof
        var stacks = PprofStacks.Decode(push.Profile);
        Assert.Equal(42, stacks.TotalOf("Main"));
    }

    [Fact]
    public async Task A_down_server_is_a_retryable_failure_and_a_4xx_is_final()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient();
        var down = new PyroscopePushExporter(http, new ProfilerOptions { ApplicationName = "a", ServerAddress = $"http://127.0.0.1:{FreePort()}" });
        var error = await Assert.ThrowsAsync<ProfileExportException>(() => down.ExportAsync(SmallBatch(), ct));
        Assert.True(error.Retryable);

        await using var server = await IngestCaptureServer.StartAsync();
        server.StatusCode = 400;
        var rejecting = new PyroscopePushExporter(http, new ProfilerOptions { ApplicationName = "a", ServerAddress = server.Address });
        error = await Assert.ThrowsAsync<ProfileExportException>(() => rejecting.ExportAsync(SmallBatch(), ct));
        Assert.False(error.Retryable);
        Assert.Contains("400", error.Message);
    }

    [Fact]
    public async Task Upload_queue_retries_until_the_server_answers()
    {
        var exporter = new CapturingExporter { FailuresBeforeSuccess = 1 };
        var queue = new UploadQueue(exporter, capacity: 4, TimeSpan.FromMinutes(1), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        queue.Enqueue(SmallBatch());
        await exporter.WaitForAsync(_ => true, TimeSpan.FromSeconds(20));
        await queue.DisposeAsync();
        Assert.Equal(2, exporter.Attempts);
        Assert.Equal(1, queue.Exported);
    }

    [Fact]
    public async Task Upload_queue_is_bounded_and_drops_the_oldest_windows()
    {
        var blocked = new BlockingExporter();
        var queue = new UploadQueue(blocked, capacity: 2, TimeSpan.FromMinutes(1), Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        queue.Enqueue(SmallBatch());
        await blocked.Started.Task.WaitAsync(TimeSpan.FromSeconds(20), TestContext.Current.CancellationToken);
        for (var i = 0; i < 5; i++)
        {
            queue.Enqueue(SmallBatch());
        }
        // One batch is in the exporter's hands, two wait, the other three were dropped.
        Assert.Equal(3, queue.Dropped);
        blocked.Release.SetResult();
        await queue.StopAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(3, queue.Exported);
    }

    [Fact]
    public async Task Invalid_options_are_rejected_and_disabled_profiling_is_a_no_op()
    {
        Assert.Throws<ArgumentException>(() => PyroscopeProfiler.Start(new ProfilerOptions { ApplicationName = "bad name{}" }));
        Assert.Throws<ArgumentException>(() => PyroscopeProfiler.Start(new ProfilerOptions { ApplicationName = "ok", Tags = { ["bad-key"] = "v" } }));
        var exporter = new CapturingExporter();
        await using (PyroscopeProfiler.Start(new ProfilerOptions { ApplicationName = "off", Enabled = false, Exporter = exporter }))
        {
        }
        Assert.Empty(exporter.Batches);
    }

    [Fact]
    public async Task Self_profiling_hosted_service_pushes_to_the_server_once_the_host_started()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await IngestCaptureServer.StartAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddPyroscopeSelfProfiling("pyroscope", server.Address);
        builder.Services.Configure<ProfilerOptions>(o => o.UploadInterval = TimeSpan.FromMilliseconds(300));
        using var host = builder.Build();
        await host.StartAsync(ct);
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            cts.CancelAfter(TimeSpan.FromSeconds(20));
            while (server.Pushes.IsEmpty)
            {
                await Task.Delay(50, cts.Token);
            }
        }
        await host.StopAsync(ct);
        Assert.All(server.Pushes, p => Assert.Equal("pyroscope", p.Labels["service_name"]));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class BlockingExporter : IProfileExporter
    {
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task ExportAsync(ProfileBatch batch, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            return Release.Task.WaitAsync(cancellationToken);
        }
    }
}
