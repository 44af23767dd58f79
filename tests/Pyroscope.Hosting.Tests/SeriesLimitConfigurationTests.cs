using Pyroscope.Api.Limits;
using Pyroscope.Hosting.Configuration;

namespace Pyroscope.Hosting.Tests;

public class SeriesLimitConfigurationTests
{
    [Fact]
    public void Series_limit_flags_and_yaml_overrides_reach_the_tenant_limits()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, """
                limits:
                  max_global_series_per_tenant: 100
                overrides:
                  noisy:
                    max_local_series_per_tenant: 7
                  unlimited:
                    max_global_series_per_tenant: 0
                """);
            var settings = PyroscopeSettings.Load(CommandLine.Parse([$"-config.file={path}", "-ingester.max-global-series-per-tenant=250", "-ingester.max-local-series-per-tenant=40"]), "all");
            var limits = new ConfigurationTenantLimitsProvider(settings.Configuration);

            // Flags override the YAML defaults; overrides apply on top per tenant.
            Assert.Equal((250, 40), (limits.Defaults.MaxGlobalSeriesPerTenant, limits.Defaults.MaxLocalSeriesPerTenant));
            Assert.Equal((250, 7), (limits.For("noisy").MaxGlobalSeriesPerTenant, limits.For("noisy").MaxLocalSeriesPerTenant));
            Assert.Equal((0, 40), (limits.For("unlimited").MaxGlobalSeriesPerTenant, limits.For("unlimited").MaxLocalSeriesPerTenant));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Upstream_defaults_without_configuration_and_bad_values_are_named()
    {
        var defaults = new ConfigurationTenantLimitsProvider(PyroscopeSettings.Load(CommandLine.Parse([]), "all").Configuration).Defaults;
        Assert.Equal((5000, 0), (defaults.MaxGlobalSeriesPerTenant, defaults.MaxLocalSeriesPerTenant));
        var error = Assert.Throws<ConfigurationException>(() => CommandLine.Parse(["-ingester.max-local-series-per-tenant=lots"]));
        Assert.Contains("-ingester.max-local-series-per-tenant", error.Message);
    }
}
