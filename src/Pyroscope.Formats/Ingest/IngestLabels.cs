using Pyroscope.Formats.Legacy;
using Pyroscope.Model;

namespace Pyroscope.Formats.Ingest;

/// <summary>The series labels each kind of ingest format starts from, as upstream's ingest handler sets them.</summary>
public static class IngestLabels
{
    /// <summary>pprof: the metric name from the sample types, service_name from the app name (a user service_name wins).</summary>
    public static List<Label> Pprof(IngestMetadata md, string metricName)
    {
        var labels = new List<Label>(md.Key.Labels.Count + 4)
        {
            new(LabelNames.MetricName, metricName),
            new(LabelNames.Delta, "false"),
            new(LabelNames.ServiceName, md.Key.FullName),
            new(LabelNames.Spy, md.SpyName),
        };
        AddUserLabels(md, labels); // a user service_name overrides the app name (later wins)
        return labels;
    }

    /// <summary>Legacy formats as upstream's adapter: __name__, __delta__, pyroscope_spy, service_name (or app_name).</summary>
    public static List<Label> Legacy(IngestMetadata md, LegacyProfileType type)
    {
        var labels = new List<Label>(md.Key.Labels.Count + 5)
        {
            new(LabelNames.MetricName, type.MetricName),
            new(LabelNames.Delta, "false"),
        };
        if (md.SpyName.Length > 0)
        {
            labels.Add(new Label(LabelNames.Spy, md.SpyName));
        }
        if (!AddUserLabels(md, labels))
        {
            labels.Add(new Label(LabelNames.ServiceName, type.AppName));
        }
        else if (UserValue(md, LabelNames.AppName) is null)
        {
            labels.Add(new Label(LabelNames.AppName, type.AppName));
        }
        return labels;
    }

    /// <summary>Formats converted to several typed profiles (JFR, nettrace): the converter's type and extra labels.</summary>
    public static List<Label> Converted(IngestMetadata md, ProfileTypeId type, LabelSet extra)
    {
        var labels = new List<Label>(md.Key.Labels.Count + extra.Count + 4)
        {
            new(LabelNames.MetricName, type.Name),
            new(LabelNames.Delta, "false"),
            new(LabelNames.ServiceName, AppOnly(md.Key.FullName)),
            new(LabelNames.Spy, md.SpyName),
        };
        AddUserLabels(md, labels);
        foreach (var l in extra.Labels)
        {
            labels.Add(l);
        }
        return labels;
    }

    private static string? UserValue(IngestMetadata md, string name)
    {
        foreach (var (k, v) in md.Key.Labels)
        {
            if (k == name)
            {
                return v;
            }
        }
        return null;
    }

    /// <summary>Adds the user's labels except reserved "__" ones; returns whether service_name was among them.</summary>
    private static bool AddUserLabels(IngestMetadata md, List<Label> labels)
    {
        var hasServiceName = false;
        foreach (var (name, value) in md.Key.Labels)
        {
            if (LabelNames.IsReserved(name))
            {
                continue;
            }
            hasServiceName |= name == LabelNames.ServiceName && value.Length > 0;
            labels.Add(new Label(name, value));
        }
        return hasServiceName;
    }

    // JFR agents send "app.cpu" style names too; the suffix is not part of the service name.
    private static string AppOnly(string fullName)
    {
        var dot = fullName.LastIndexOf('.');
        return dot < 0 ? fullName : fullName[..dot] is { Length: > 0 } app && IsLegacySuffix(fullName[(dot + 1)..]) ? app : fullName;
    }

    private static bool IsLegacySuffix(string suffix) => suffix is "cpu" or "itimer" or "wall" or "alloc_in_new_tlab_objects" or "alloc_in_new_tlab_bytes" or "lock_count" or "lock_duration";
}
