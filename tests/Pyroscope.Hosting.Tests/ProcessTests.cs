using System.Net;
using Pyroscope.Testing;

namespace Pyroscope.Hosting.Tests;

/// <summary>The real executables, started as processes on free ports.</summary>
public class ProcessTests
{
    public static TheoryData<string, string> Targets => new()
    {
        { "Pyroscope.All", "all" },
        { "Pyroscope.All", "distributor,querier" },
        { "Pyroscope.All", "compactor" },
        { "Pyroscope.Distributor", "distributor" },
        { "Pyroscope.Ingester", "ingester" },
        { "Pyroscope.Querier", "querier" },
        { "Pyroscope.Querier", "querier,tenant-settings" },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Each_target_becomes_ready_and_serves_metrics(string project, string target)
    {
        await using var process = await PyroscopeProcess.StartReadyAsync(project, [$"-target={target}", "-self-profiling.disable-push=true"]);

        var ready = await process.Http.GetAsync("/ready", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        var services = await process.Http.GetStringAsync("/services", TestContext.Current.CancellationToken);
        foreach (var module in target.Split(','))
        {
            Assert.Contains($"{module} Running", services);
        }

        // Scrape until the module gauge is exported (the first collection happens on the first scrape).
        var metrics = await process.Http.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Contains("process_cpu_time_seconds_total", metrics);
        Assert.Contains("pyroscope_module_running", metrics);
        Assert.Contains($"module=\"{target.Split(',')[0]}\"", metrics);

        var health = await process.Http.GetAsync("/health", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Graceful_stop_exits_zero()
    {
        await using var process = await PyroscopeProcess.StartReadyAsync("Pyroscope.All", ["-self-profiling.disable-push=true"]);
        process.Terminate();
        Assert.Equal(0, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Modules_flag_prints_the_table_and_exits_zero()
    {
        var (code, output) = await ExternalProcess.RunAsync("dotnet", [RepositoryPaths.ProjectDll("Pyroscope.All"), "-modules"], TimeSpan.FromSeconds(60));
        Assert.Equal(0, code);
        Assert.EndsWith("\n\nModules marked with * are included in target All.\n", output.Replace("\r", ""));
        Assert.Contains("ingester *\n", output);
        Assert.Contains("\ntenant-settings *\n", output.Replace("\r", ""));
    }

    [Theory]
    [InlineData("-target=ingestor", "unrecognised module name \"ingestor\"")]
    [InlineData("-target=server", "module \"server\" cannot be used as a target")]
    [InlineData("-no-such-flag", "flag provided but not defined: -no-such-flag")]
    [InlineData("-server.http-listen-port=http", "invalid value \"http\"")]
    public async Task Bad_command_lines_exit_one_with_the_bad_value_and_no_stack_trace(string argument, string expected)
    {
        var (code, output) = await ExternalProcess.RunAsync("dotnet", [RepositoryPaths.ProjectDll("Pyroscope.All"), argument], TimeSpan.FromSeconds(60));
        Assert.Equal(1, code);
        Assert.Contains(expected, output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public async Task A_component_executable_refuses_targets_it_does_not_contain()
    {
        var (code, output) = await ExternalProcess.RunAsync("dotnet", [RepositoryPaths.ProjectDll("Pyroscope.Ingester"), "-target=querier"], TimeSpan.FromSeconds(60));
        Assert.Equal(1, code);
        Assert.Contains("does not contain module(s) querier", output);
    }

    [Fact]
    public async Task Bad_yaml_exits_one_naming_the_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(path, "server: [unclosed\n", TestContext.Current.CancellationToken);
        try
        {
            var (code, output) = await ExternalProcess.RunAsync("dotnet", [RepositoryPaths.ProjectDll("Pyroscope.All"), $"-config.file={path}"], TimeSpan.FromSeconds(60));
            Assert.Equal(1, code);
            Assert.Contains(path, output);
            Assert.DoesNotContain("   at ", output);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task A_port_in_use_fails_start_up_with_exit_code_one()
    {
        using var blocker = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;
        await using var process = PyroscopeProcess.Start("Pyroscope.All", ["-self-profiling.disable-push=true"], httpPort: port);
        var code = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(1, code);
        Assert.Contains("address already in use", process.Output, StringComparison.OrdinalIgnoreCase);
    }
}
