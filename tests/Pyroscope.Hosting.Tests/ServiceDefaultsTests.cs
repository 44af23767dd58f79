using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Trace;

namespace Pyroscope.Hosting.Tests;

/// <summary>Traces are recorded only where an OTLP endpoint takes them: otherwise every request built spans for nobody.</summary>
public sealed class ServiceDefaultsTests
{
    [Theory]
    [InlineData(null, false)]
    [InlineData("http://127.0.0.1:4317", true)]
    public async Task Traces_are_recorded_only_with_an_OTLP_endpoint(string? endpoint, bool traced)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint;
        builder.AddServiceDefaults();
        await using var app = builder.Build();
        Assert.Equal(traced, app.Services.GetService<TracerProvider>() is not null);
    }
}
