using Microsoft.Extensions.Configuration;
using Pyroscope.Api;
using Pyroscope.Api.Limits;
using Pyroscope.Api.Tenancy;
using Pyroscope.Model;

namespace Pyroscope.Api.Tests;

/// <summary>Tenant ids, per-tenant limits from configuration, tenant resolution and Connect status codes.</summary>
public sealed class ApiPlumbingTests
{
    [Theory]
    [InlineData("tenant-a", true)]
    [InlineData("Team_1.prod(eu)*!'", true)]
    [InlineData(".", false)]
    [InlineData("..", false)]
    [InlineData("a/b", false)]
    [InlineData("a\\b", false)]
    [InlineData("a b", false)]
    [InlineData("a|b", false)]
    [InlineData("", false)]
    public void Tenant_ids_follow_upstream_rules(string id, bool valid)
    {
        Assert.Equal(valid, TenantId.IsValid(id));
    }

    [Fact]
    public void Tenant_id_length_is_capped_at_150()
    {
        Assert.True(TenantId.IsValid(new string('a', 150)));
        Assert.Contains("max 150", TenantId.Problem(new string('a', 151)));
    }

    [Fact]
    public void Limits_bind_defaults_then_per_tenant_overrides()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["limits:ingestion_rate_mb"] = "8",
            ["limits:max_query_lookback"] = "30d",
            ["overrides:big:ingestion_rate_mb"] = "100",
            ["overrides:big:max_label_names_per_series"] = "50",
            ["overrides:big:compactor_blocks_retention_period"] = "14d",
        }).Build();
        var provider = new ConfigurationTenantLimitsProvider(configuration);

        var other = provider.For("other");
        Assert.Equal(8, other.IngestionRateMb);
        Assert.Equal(TimeSpan.FromDays(30), other.MaxQueryLookback);
        Assert.Equal(30, other.MaxLabelNamesPerSeries);
        Assert.Equal(TimeSpan.FromHours(1), other.RejectOlderThan);
        Assert.Equal(TimeSpan.Zero, other.CompactorBlocksRetentionPeriod);

        var big = provider.For("big");
        Assert.Equal(100, big.IngestionRateMb);
        Assert.Equal(50, big.MaxLabelNamesPerSeries);
        Assert.Equal(TimeSpan.FromDays(30), big.MaxQueryLookback);
        Assert.Equal(TimeSpan.FromDays(14), big.CompactorBlocksRetentionPeriod);
    }

    [Fact]
    public void Upstream_defaults()
    {
        var d = TenantLimits.Defaults;
        Assert.Equal((4d, 2d, 256d), (d.IngestionRateMb, d.IngestionBurstSizeMb, d.IngestionBodyLimitMb));
        Assert.Equal((30, 1024, 2048), (d.MaxLabelNamesPerSeries, d.MaxLabelNameLength, d.MaxLabelValueLength));
        Assert.Equal((4194304, 16000, 100, 1000, 65535), (d.MaxProfileSizeBytes, d.MaxProfileStacktraceSamples, d.MaxProfileStacktraceSampleLabels, d.MaxProfileStacktraceDepth, d.MaxProfileSymbolValueLength));
        Assert.Equal((TimeSpan.FromDays(7), TimeSpan.FromDays(1), TimeSpan.FromHours(1), TimeSpan.FromMinutes(10)), (d.MaxQueryLookback, d.MaxQueryLength, d.RejectOlderThan, d.RejectNewerThan));
    }

    [Fact]
    public void Invalid_limit_value_names_the_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["limits:max_label_names_per_series"] = "many" }).Build();
        var e = Assert.Throws<FormatException>(() => new ConfigurationTenantLimitsProvider(configuration));
        Assert.Contains("limits.max_label_names_per_series", e.Message);
    }

    [Fact]
    public void Resolver_uses_anonymous_unless_multitenancy_is_enabled()
    {
        Assert.Equal("anonymous", new TenantResolver(new TenancyOptions()).FromHeader("x"));
        var strict = new TenantResolver(TenancyOptions.From(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["multitenancy_enabled"] = "true" }).Build()));
        Assert.Equal("t1", strict.FromHeader("t1"));
        var e = Assert.Throws<ApiException>(() => strict.FromHeader(null));
        Assert.Equal((ConnectCode.Unauthenticated, 401, "no org id"), (e.Code, e.HttpStatus, e.Message));
    }

    [Fact]
    public void Connect_codes_map_to_http_statuses()
    {
        Assert.Equal(400, ConnectCode.InvalidArgument.HttpStatus());
        Assert.Equal(401, ConnectCode.Unauthenticated.HttpStatus());
        Assert.Equal(403, ConnectCode.PermissionDenied.HttpStatus());
        Assert.Equal(404, ConnectCode.NotFound.HttpStatus());
        Assert.Equal(429, ConnectCode.ResourceExhausted.HttpStatus());
        Assert.Equal(503, ConnectCode.Unavailable.HttpStatus());
        Assert.Equal(500, ConnectCode.Internal.HttpStatus());
        Assert.Equal(504, ConnectCode.DeadlineExceeded.HttpStatus());
        Assert.Equal(499, ConnectCode.Canceled.HttpStatus());
        Assert.Equal("resource_exhausted", ConnectCode.ResourceExhausted.WireName());
    }
}
