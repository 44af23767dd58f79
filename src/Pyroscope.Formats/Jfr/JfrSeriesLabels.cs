using Pyroscope.Model;

namespace Pyroscope.Formats.Jfr;

/// <summary>The series labels upstream gives each profile of a JFR ingest.</summary>
public static class JfrSeriesLabels
{
    public const string JfrEvent = "jfr_event";

    /// <summary>Private labels a client may still set (upstream allows only the session id).</summary>
    private const string SessionId = "__session_id__";

    /// <summary>
    /// Request labels (those starting with <c>__</c> dropped, except <c>__session_id__</c>), then the context's
    /// labels, then <c>pyroscope_spy</c>, <c>__delta__="false"</c>, <c>service_name</c> = app name (or
    /// <c>app_name</c> when the request already carries a <c>service_name</c>), <c>jfr_event</c> (when not
    /// empty) and <c>__name__</c>. Later entries win on a name clash.
    /// </summary>
    public static LabelSet For(JfrProfile profile, IEnumerable<Label> requestLabels, string appName, string spyName, string jfrEvent)
    {
        ArgumentNullException.ThrowIfNull(profile);
        ArgumentNullException.ThrowIfNull(requestLabels);
        var labels = new List<Label>();
        var hasServiceName = false;
        foreach (var label in requestLabels)
        {
            if (label.Name.StartsWith("__", StringComparison.Ordinal) && label.Name != SessionId)
            {
                continue;
            }
            hasServiceName |= label.Name == LabelNames.ServiceName;
            labels.Add(label);
        }
        foreach (var label in profile.ExtraLabels.Labels)
        {
            labels.Add(label);
        }
        labels.Add(new Label(LabelNames.Spy, spyName));
        labels.Add(new Label(LabelNames.Delta, "false"));
        labels.Add(new Label(hasServiceName ? LabelNames.AppName : LabelNames.ServiceName, appName));
        if (jfrEvent.Length > 0)
        {
            labels.Add(new Label(JfrEvent, jfrEvent));
        }
        labels.Add(new Label(LabelNames.MetricName, profile.Type.Name));
        return LabelSet.From(labels);
    }
}
