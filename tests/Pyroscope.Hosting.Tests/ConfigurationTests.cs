using Pyroscope.Model;
using Pyroscope.Hosting.Modules;
using Pyroscope.Hosting.Configuration;

namespace Pyroscope.Hosting.Tests;

public class ConfigurationTests
{
    [Fact]
    public void Flags_in_go_style_set_configuration_keys()
    {
        var commandLine = CommandLine.Parse(["-server.http-listen-port=4041", "--server.grpc-listen-port", "9096", "-auth.multitenancy-enabled", "-target=ingester,querier"]);
        Assert.Equal("4041", commandLine.ConfigValues["server:http_listen_port"]);
        Assert.Equal("9096", commandLine.ConfigValues["server:grpc_listen_port"]);
        Assert.Equal("true", commandLine.ConfigValues["multitenancy_enabled"]);
        Assert.Equal("ingester,querier", commandLine.ConfigValues["target"]);
    }

    [Theory]
    [InlineData("-nope=1", "flag provided but not defined: -nope")]
    [InlineData("-server.http-listen-port=abc", "invalid value \"abc\" for flag -server.http-listen-port")]
    [InlineData("-auth.multitenancy-enabled=maybe", "invalid boolean value \"maybe\"")]
    [InlineData("-querier.max-query-length=forever", "not a duration")]
    [InlineData("-server.http-listen-port", "flag needs an argument")]
    [InlineData("stray", "unexpected argument \"stray\"")]
    public void Bad_flags_are_named_in_the_error(string arg, string expected)
    {
        var error = Assert.Throws<ConfigurationException>(() => CommandLine.Parse([arg]));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Modes_help_version_and_modules_are_recognised()
    {
        Assert.True(CommandLine.Parse(["-h"]).ShowHelp);
        Assert.True(CommandLine.Parse(["-help"]).ShowHelp);
        Assert.True(CommandLine.Parse(["-version"]).ShowVersion);
        Assert.True(CommandLine.Parse(["-modules"]).ShowModules);
    }

    [Fact]
    public void Yaml_becomes_flat_keys_and_flags_override_it()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                target: ingester
                server:
                  http_listen_port: 4100
                  grpc_listen_port: 9100
                storage:
                  backend: azure
                  azure:
                    container_name: profiles
                limits:
                  ingestion_rate_mb: 8
                """);
            var settings = PyroscopeSettings.Load(CommandLine.Parse([$"-config.file={path}", "-server.http-listen-port=4200"]), "all");
            Assert.Equal(4200, settings.HttpPort);
            Assert.Equal(9100, settings.GrpcPort);
            Assert.Equal(["ingester"], settings.Targets);
            Assert.Equal("azure", settings.Configuration["storage:backend"]);
            Assert.Equal("profiles", settings.Configuration["storage:azure:container_name"]);
            Assert.Equal("8", settings.Configuration["limits:ingestion_rate_mb"]);
            Assert.Equal("1000", settings.Configuration["limits:max_profile_stacktrace_depth"]);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Target_defaults_to_the_executables_own_and_yaml_lists_work()
    {
        Assert.Equal(["querier"], PyroscopeSettings.Load(CommandLine.Parse([]), "querier").Targets);
        var values = YamlConfigFile.Parse("target: [distributor, querier]\n", "test.yaml", expandEnv: false);
        Assert.Equal("distributor,querier", values["target"]);
    }

    [Fact]
    public void Bad_yaml_names_the_line()
    {
        var error = Assert.Throws<ConfigurationException>(() => YamlConfigFile.Parse("server:\n  http_listen_port: [4040\n", "bad.yaml", expandEnv: false));
        Assert.Contains("bad.yaml", error.Message);
        Assert.Contains("line", error.Message);
    }

    [Fact]
    public void Unknown_top_level_sections_are_rejected()
    {
        var error = Assert.Throws<ConfigurationException>(() => YamlConfigFile.Parse("sever:\n  http_listen_port: 1\n", "typo.yaml", expandEnv: false));
        Assert.Contains("field \"sever\" not found", error.Message);
    }

    [Fact]
    public void Typed_values_from_yaml_are_validated_like_flags()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "server:\n  http_listen_port: eighty\n");
            var error = Assert.Throws<ConfigurationException>(() => PyroscopeSettings.Load(CommandLine.Parse([$"-config.file={path}"]), "all"));
            Assert.Contains("eighty", error.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Environment_references_expand_only_when_asked()
    {
        Environment.SetEnvironmentVariable("PYROSCOPE_TEST_CONTAINER", "from-env");
        const string yaml = "storage:\n  azure:\n    container_name: ${PYROSCOPE_TEST_CONTAINER}\n    account_name: ${PYROSCOPE_TEST_UNSET:fallback}\n";
        var expanded = YamlConfigFile.Parse(yaml, "env.yaml", expandEnv: true);
        Assert.Equal("from-env", expanded["storage:azure:container_name"]);
        Assert.Equal("fallback", expanded["storage:azure:account_name"]);
        var literal = YamlConfigFile.Parse(yaml, "env.yaml", expandEnv: false);
        Assert.Equal("${PYROSCOPE_TEST_CONTAINER}", literal["storage:azure:container_name"]);
    }

    [Fact]
    public void A_duration_flag_means_the_same_to_the_flag_parser_and_the_component_reading_it()
    {
        // One grammar: a value the flag table accepts is what the ring reads (before, "1d" passed the flags and failed in the ring).
        var settings = PyroscopeSettings.Load(CommandLine.Parse(["-ring.heartbeat-timeout=1d"]), ModuleNames.All);
        Assert.Equal(TimeSpan.FromDays(1), Ring.RingOptions.FromConfiguration(settings.Configuration).HeartbeatTimeout);
    }
}
