using Microsoft.Extensions.DependencyInjection;

namespace Pyroscope.Api;

/// <summary>
/// A feature this process has, by its capabilities.v1 name (lowerCamelCase). Modules register the ones they bring, so
/// <c>capabilities.v1.FeatureFlagsService</c> answers what the running combination of modules can do.
/// </summary>
public sealed record FeatureFlagRegistration(string Name);

/// <summary>Every flag capabilities.v1 answers, known to clients by name; enabled when a module registered it.</summary>
public static class FeatureFlagNames
{
    // Upstream's flags (pkg/featureflags): clients such as Grafana's Profiles Drilldown ask for these names.
    public const string V2StorageLayer = "v2StorageLayer";
    public const string PyroscopeRuler = "pyroscopeRuler";
    public const string PyroscopeRulerFunctions = "pyroscopeRulerFunctions";
    public const string Utf8LabelNames = "utf8LabelNames";

    // The read path's per-profile features, for clients that want to know before they ask.
    public const string SeriesExemplars = "seriesExemplars";
    public const string SelectHeatmap = "selectHeatmap";
    public const string ProfileIdSelector = "profileIdSelector";
    public const string TraceIdSelector = "traceIdSelector";

    public static readonly IReadOnlyList<(string Name, string Description)> All =
    [
        (PyroscopeRuler, "Supports the Pyroscope ruler, which exports Prometheus metrics from profiling data (settings.v1.RecordingRulesService)."),
        (PyroscopeRulerFunctions, "Recording rules may total one function (stacktrace_filter)."),
        (ProfileIdSelector, "SelectMergeStacktraces, SelectMergeProfile and Diff honour profile_id_selector (one profile by id)."),
        (SelectHeatmap, "querier.v1 SelectHeatmap: individual profiles or spans bucketed by time and value, with exemplars."),
        (SeriesExemplars, "SelectSeries answers exemplar_type INDIVIDUAL and SPAN with Point.exemplars."),
        (TraceIdSelector, "SelectMergeStacktraces, SelectMergeProfile and Diff honour trace_id_selector and span_selector."),
        (Utf8LabelNames, "Supports UTF-8 label names for Pyroscope read/write APIs."),
        (V2StorageLayer, "v2 storage layer (upstream's metastore and segment writers)."),
    ];
}

public static class FeatureFlagServiceCollectionExtensions
{
    public static IServiceCollection AddFeatureFlag(this IServiceCollection services, string name)
    {
        foreach (var d in services)
        {
            if (d.ImplementationInstance is FeatureFlagRegistration r && r.Name == name)
            {
                return services;
            }
        }
        return services.AddSingleton(new FeatureFlagRegistration(name));
    }
}
