namespace Pyroscope.Model;

/// <summary>Reserved label names, spelled as upstream Pyroscope spells them.</summary>
public static class LabelNames
{
    public const string MetricName = "__name__";
    public const string ServiceName = "service_name";
    public const string AppName = "app_name";
    public const string ProfileType = "__profile_type__";
    public const string SampleType = "__type__";
    public const string SampleUnit = "__unit__";
    public const string PeriodType = "__period_type__";
    public const string PeriodUnit = "__period_unit__";
    public const string Delta = "__delta__";
    public const string Spy = "pyroscope_spy";
    public const string ProfileId = "profile_id";
    public const string SpanId = "span_id";

    /// <summary>Names starting with "__" are internal and hidden from label-name listings.</summary>
    public static bool IsReserved(string name) => name.StartsWith("__", StringComparison.Ordinal);
}
