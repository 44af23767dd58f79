using System.Net;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Pyroscope.Hosting.Configuration;
using Pyroscope.Hosting.Modules;

namespace Pyroscope.Hosting;

/// <summary>
/// The one program behind every executable: parses flags and YAML, expands <c>-target</c> through the
/// module table, initialises the modules in dependency order into one web host, and runs it.
/// </summary>
public static class PyroscopeProgram
{
    /// <param name="components">The component libraries this executable carries; a target needing others is refused.</param>
    public static async Task<int> RunAsync(string[] args, string defaultTarget, IReadOnlyList<ComponentLibrary> components)
    {
        var stdout = Console.Out;
        var stderr = Console.Error;
        CommandLine commandLine;
        ModuleRegistry registry;
        try
        {
            commandLine = CommandLine.Parse(args);
            registry = PyroscopeModules.CreateRegistry();
        }
        catch (ConfigurationException ex)
        {
            await stderr.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            await stderr.WriteLineAsync("Run with -help to list the flags.").ConfigureAwait(false);
            return 1;
        }

        if (commandLine.ShowHelp)
        {
            await stdout.WriteAsync(Usage()).ConfigureAwait(false);
            return 0;
        }
        if (commandLine.ShowVersion)
        {
            await stdout.WriteLineAsync(VersionLine()).ConfigureAwait(false);
            return 0;
        }
        if (commandLine.ShowModules)
        {
            await stdout.WriteAsync(DescribeModules(registry)).ConfigureAwait(false);
            return 0;
        }

        WebApplication app;
        try
        {
            var settings = PyroscopeSettings.Load(commandLine, defaultTarget);
            var modules = registry.Expand(settings.Targets);
            app = Build(settings, registry, modules, components);
        }
        catch (Exception ex) when (ex is ConfigurationException or ModuleRegistryException)
        {
            await stderr.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
            return 1;
        }
        catch (Exception ex)
        {
            await stderr.WriteLineAsync("error: initialising modules failed: " + ex.Message).ConfigureAwait(false);
            return 1;
        }

        await using (app.ConfigureAwait(false))
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pyroscope");
            var manager = app.Services.GetRequiredService<ModuleManager>();
            try
            {
                await app.RunAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                logger.LogCritical(ex, "stopped with an error: {Reason}", ex.Message);
                await stderr.WriteLineAsync("error: " + ex.Message).ConfigureAwait(false);
                return 1;
            }
            return manager.HasFailed ? 1 : 0;
        }
    }

    /// <summary>Builds the web host for the given modules (in start order) without running it.</summary>
    public static WebApplication Build(PyroscopeSettings settings, ModuleRegistry registry, IReadOnlyList<string> modules, IReadOnlyList<ComponentLibrary> components)
    {
        var missing = new List<string>();
        foreach (var module in modules)
        {
            if (registry[module].NeedsComponent && ModuleContext.Find(components, module) is null)
            {
                missing.Add(module);
            }
        }
        if (missing.Count > 0)
        {
            throw new ConfigurationException($"this executable does not contain module(s) {string.Join(", ", missing)}; run Pyroscope.All for them");
        }

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = Assembly.GetEntryAssembly()?.GetName().Name,
            ContentRootPath = Directory.GetCurrentDirectory(),
            // The default appsettings.json sources (cleared below) would leave a recursive file watcher on the content
            // root, and the default data path (./data) lies under it: every WAL write would wake that watcher.
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddConfiguration(settings.Configuration);
        builder.Logging.SetMinimumLevel(ParseLogLevel(settings.LogLevel));
        builder.Logging.AddFilter("Microsoft.AspNetCore", Microsoft.Extensions.Logging.LogLevel.Warning);
        // gRPC logs every call that ended with an error status, or whose caller went away, at info: routine in a ring
        // (queriers cancel the slower replicas' reads); failures that matter are logged by the callers, naming the ingester.
        builder.Logging.AddFilter("Grpc.AspNetCore.Server", Microsoft.Extensions.Logging.LogLevel.Warning);
        builder.Logging.AddSimpleConsole(options =>
        {
            options.SingleLine = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            options.UseUtcTimestamp = true;
        });

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Connect, gRPC-Web and plain HTTP share the HTTP port; Kestrel cannot serve h2c next to HTTP/1.1
            // on one cleartext endpoint, so plain gRPC gets its own HTTP/2-only port, as upstream's 9095.
            Listen(kestrel, settings.HttpAddress, settings.HttpPort, HttpProtocols.Http1);
            Listen(kestrel, settings.GrpcAddress, settings.GrpcPort, HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = null; // Per-tenant limits apply in the handlers.
        });
        builder.Services.Configure<HostOptions>(options =>
        {
            options.ShutdownTimeout = settings.GracefulShutdownTimeout;
            options.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });

        builder.AddServiceDefaults();
        builder.Services.AddSingleton(settings);
        var active = new ActiveModules(modules, registry.DependenciesOf);
        builder.Services.AddSingleton(active);
        builder.Services.AddSingleton(sp => new ModuleManager(
            active,
            module => [.. sp.GetKeyedServices<IHostedService>(module)],
            sp.GetRequiredService<IHostApplicationLifetime>(),
            sp.GetRequiredService<ILogger<ModuleManager>>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ModuleManager>());

        var context = new ModuleContext(builder.Services, builder.Configuration, active, components);
        foreach (var module in modules)
        {
            context.Initialise(registry[module]);
        }

        var app = builder.Build();
        foreach (var use in context.AppBuilders)
        {
            use(app);
        }
        return app;
    }

    public static string DescribeModules(ModuleRegistry registry)
    {
        var text = new StringBuilder();
        foreach (var line in registry.DescribeUserVisible())
        {
            text.Append(line).Append('\n');
        }
        text.Append('\n').Append("Modules marked with * are included in target All.\n");
        return text.ToString();
    }

    public static string VersionLine()
    {
        var assembly = typeof(PyroscopeProgram).Assembly;
        var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString() ?? "unknown";
        return $"pyroscope.net, version {version} (.NET {Environment.Version})";
    }

    private static string Usage()
    {
        var text = new StringBuilder("Usage of pyroscope.net:\n");
        foreach (var flag in FlagTable.All)
        {
            text.Append("  -").Append(flag.Name);
            if (flag.Kind != FlagKind.Bool)
            {
                text.Append(' ').Append(flag.Kind.ToString().ToLowerInvariant());
            }
            text.Append("\n    \t").Append(flag.Help);
            if (!string.IsNullOrEmpty(flag.Default) && flag.Kind != FlagKind.Bool)
            {
                text.Append(" (default ").Append(flag.Default).Append(')');
            }
            text.Append('\n');
        }
        return text.ToString();
    }

    private static void Listen(KestrelServerOptions kestrel, string address, int port, HttpProtocols protocols)
    {
        if (string.IsNullOrEmpty(address) || address is "0.0.0.0" or "*")
        {
            kestrel.ListenAnyIP(port, o => o.Protocols = protocols);
        }
        else if (address == "localhost")
        {
            kestrel.ListenLocalhost(port, o => o.Protocols = protocols);
        }
        else if (IPAddress.TryParse(address, out var ip))
        {
            kestrel.Listen(ip, port, o => o.Protocols = protocols);
        }
        else
        {
            throw new ConfigurationException($"invalid listen address \"{address}\": use an IP address, localhost or empty");
        }
    }

    private static LogLevel ParseLogLevel(string level) => level.ToLowerInvariant() switch
    {
        "debug" => Microsoft.Extensions.Logging.LogLevel.Debug,
        "info" => Microsoft.Extensions.Logging.LogLevel.Information,
        "warn" => Microsoft.Extensions.Logging.LogLevel.Warning,
        "error" => Microsoft.Extensions.Logging.LogLevel.Error,
        _ => throw new ConfigurationException($"invalid log level \"{level}\": use debug, info, warn or error"),
    };
}
